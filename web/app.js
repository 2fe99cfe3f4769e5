/*
 * app.js: the live page's data and connection, plain JavaScript with no
 * library. It finds out which kind of aggregator it talks to:
 *
 * - /v1/election answers: an election of one or several contests. The page
 *   loads the definition once, /v1/totals for a first picture, then follows
 *   /v1/events; when an event says the sequence moved it fetches
 *   /v1/contests/{id} for the contest on screen (and, at most every 10 s,
 *   its trend). A switcher (tabs, or a menu on a phone) chooses the
 *   contest; ?contest=ID links to one and ?rotate=SECONDS cycles through
 *   them for an unattended wall screen.
 * - /v1/election is 404 (an aggregator of a single referendum before the
 *   contests API): each /v1/totals document and "totals" event is the
 *   whole picture, shown as one referendum.
 *
 * The browser's EventSource reconnects by itself and sends Last-Event-ID;
 * the server answers a reconnect with the current state at once. If the
 * stream is refused outright, the page retries with a growing delay. What
 * it shows is drawn by views.js (contests, districts, map, trend),
 * hemicycle.js, map.js and trend.js, in the words of i18n.js. Everything
 * comes from the aggregator that served the page: nothing else is fetched.
 */
"use strict";

(function () {
	var T = window.Tally;
	var V = T.views;
	var HEARTBEAT_STALE_MS = 40000; /* server heartbeats every 15 s */
	var QUIET_NOTE_MS = 120000; /* "no new results for ..." while counting */
	var RETRY_MAX_MS = 30000;
	var TREND_EVERY_MS = 10000;
	var ROTATE_PAUSE_MS = 60000; /* a person touching the page stops the rotation this long */

	/* "?stale=N" shortens or lengthens the silence (seconds, at least 5) shown as stale. */
	var staleParam = /[?&]stale=(\d+)/.exec(location.search);
	if (staleParam)
		HEARTBEAT_STALE_MS = Math.max(5, Number(staleParam[1])) * 1000;
	var rotateParam = /[?&]rotate=(\d+)/.exec(location.search);
	var ROTATE_MS = rotateParam ? Math.max(2, Number(rotateParam[1])) * 1000 : 0;
	var contestParam = /[?&]contest=([^&#]+)/.exec(location.search);

	var state = {
		mode: null, /* "general" or "legacy" */
		election: null,
		regionDefs: {},
		totals: null,
		view: null,
		cdocs: {},
		inflight: {},
		pending: {},
		trends: {},
		trendAt: {},
		trendAvailable: true,
		sorts: {},
		mapMode: "leader",
		region: null,
		filter: "",
		conn: "loading",
		connKey: "loading",
		connParams: null,
		lastMessageAt: 0,
		lastChangeAt: 0,
		source: null,
		retryMs: 1000,
		retryTimer: 0,
		pausedUntil: 0,
	};

	function $(id) {
		return document.getElementById(id);
	}

	function text(el, s) {
		if (el && el.textContent !== s)
			el.textContent = s;
	}

	function asOfDate(v) {
		if (typeof v === "number")
			return new Date(v > 1e12 ? v : v * 1000);
		if (typeof v === "string") {
			var t = Date.parse(v);
			if (!isNaN(t))
				return new Date(t);
		}
		return null;
	}

	function pad(n) {
		return (n < 10 ? "0" : "") + n;
	}

	/* "UTC+5": the screen's zone, so a reader knows which clock "as of" is on. */
	function zone(d) {
		var m = -d.getTimezoneOffset();
		var sign = m < 0 ? "-" : "+";
		m = Math.abs(m);
		return "UTC" + sign + Math.floor(m / 60) + (m % 60 ? ":" + pad(m % 60) : "");
	}

	function getJSON(path) {
		return fetch(path, {cache: "no-store", headers: {Accept: "application/json"}}).then(function (r) {
			if (!r.ok) {
				var e = new Error("HTTP " + r.status);
				e.status = r.status;
				throw e;
			}
			return r.json();
		});
	}

	/* ---- views and the switcher ---- */

	function isDistrictContest(c) {
		return !!(c && c.scope && typeof c.scope === "object" && c.scope.district);
	}

	function contestDef(id) {
		var cs = (state.election && state.election.contests) || [];
		for (var i = 0; i < cs.length; i++)
			if (cs[i].id === id)
				return cs[i];
		return null;
	}

	/* The switcher's entries: each contest, and one for all single-mandate districts. */
	function entries() {
		if (state.mode !== "general")
			return [{id: "referendum"}];
		var out = [];
		var seen = false;
		(state.election.contests || []).forEach(function (c) {
			if (isDistrictContest(c)) {
				if (!seen)
					out.push({id: "districts"});
				seen = true;
			} else {
				out.push({id: c.id, contest: c});
			}
		});
		return out;
	}

	function tabOf(view) {
		return isDistrictContest(contestDef(view)) ? "districts" : view;
	}

	function validView(id) {
		if (!id)
			return false;
		if (state.mode !== "general")
			return id === "referendum";
		return id === "districts" ? entries().some(function (e) { return e.id === "districts"; }) : !!contestDef(id);
	}

	/* This page's address showing view: ?contest= replaced in place, other parameters kept. */
	function link(view) {
		var q = location.search.replace(/^\?/, "").split("&").filter(Boolean);
		var p = "contest=" + encodeURIComponent(view);
		var i = q.findIndex(function (x) { return x.indexOf("contest=") === 0; });
		if (i >= 0)
			q[i] = p;
		else
			q.push(p);
		return location.pathname + "?" + q.join("&");
	}

	function renderSwitcher() {
		var list = entries();
		var nav = $("switcher");
		nav.hidden = list.length < 2;
		if (nav.hidden)
			return;
		nav.setAttribute("aria-label", T.t("contests"));
		text($("contest-select-label"), T.t("contestSelect"));
		var tabs = $("tabs");
		var sel = $("contest-select");
		var key = T.lang + ":" + list.map(function (e) { return e.id; }).join(",");
		if (tabs.getAttribute("data-key") !== key) {
			V.clear(tabs);
			V.clear(sel);
			list.forEach(function (e) {
				var b = V.make("button", "tab");
				b.type = "button";
				b.setAttribute("role", "tab");
				b.setAttribute("data-view", e.id);
				b.setAttribute("aria-controls", "contest-panel");
				b.id = "tab-" + e.id;
				var o = V.make("option");
				o.value = e.id;
				if (e.contest) {
					b.appendChild(T.nameEl(e.contest));
					o.textContent = T.nameOf(e.contest).text;
				} else {
					b.textContent = T.t("districts");
					o.textContent = T.t("districts");
				}
				b.addEventListener("click", function () { choose(e.id); });
				b.addEventListener("keydown", onTabKey);
				tabs.appendChild(b);
				sel.appendChild(o);
			});
			tabs.setAttribute("data-key", key);
		}
		var cur = tabOf(state.view);
		Array.prototype.forEach.call(tabs.children, function (b) {
			var on = b.getAttribute("data-view") === cur;
			b.setAttribute("aria-selected", on ? "true" : "false");
			b.tabIndex = on ? 0 : -1;
		});
		sel.value = cur;
		var panel = $("contest-panel");
		panel.setAttribute("role", "tabpanel");
		panel.setAttribute("aria-labelledby", "tab-" + cur);
	}

	function onTabKey(ev) {
		var tabs = Array.prototype.slice.call($("tabs").children);
		var i = tabs.indexOf(ev.currentTarget);
		var j = {ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1}[ev.key];
		if (j === undefined)
			return;
		ev.preventDefault();
		j = (j + tabs.length) % tabs.length;
		choose(tabs[j].getAttribute("data-view"));
		tabs[j].focus();
	}

	function choose(view, rotating) {
		if (!validView(view))
			return;
		state.view = view;
		if (!rotating || location.search.indexOf("contest=") >= 0)
			try {
				history.replaceState(null, "", link(view));
			} catch (e) {
				/* file:// or a sandbox: the link still works, the bar just does not show it. */
			}
		renderSwitcher();
		renderView();
		if (state.mode === "general" && view !== "districts") {
			refresh(view);
			refreshTrend(view, true);
		}
	}

	function rotate() {
		if (Date.now() < state.pausedUntil || !state.view)
			return;
		var list = entries();
		if (list.length < 2)
			return;
		var cur = tabOf(state.view);
		var i = 0;
		for (var k = 0; k < list.length; k++)
			if (list[k].id === cur)
				i = k;
		choose(list[(i + 1) % list.length].id, true);
	}

	/* ---- rendering ---- */

	function applyStatic() {
		document.documentElement.lang = T.lang;
		Array.prototype.forEach.call(document.querySelectorAll("[data-i18n]"), function (el) {
			text(el, T.t(el.getAttribute("data-i18n")));
		});
		Array.prototype.forEach.call(document.querySelectorAll("#lang-switch button"), function (b) {
			b.setAttribute("aria-pressed", b.getAttribute("data-lang") === T.lang ? "true" : "false");
		});
		$("lang-switch").setAttribute("aria-label", T.t("language"));
	}

	function titleOf() {
		if (state.election)
			return T.nameOf(state.election, T.t("docTitleDefault"));
		var t = state.totals && (state.totals.title || state.totals.election_id);
		return t ? {text: String(t), lang: ""} : {text: T.t("titleDefault"), lang: ""};
	}

	function renderHeader() {
		var doc = state.totals || {};
		var title = titleOf();
		var h = $("title");
		text(h, title.text);
		if (title.lang)
			h.setAttribute("lang", title.lang);
		else
			h.removeAttribute("lang");
		text($("election-id"), doc.election_id || (state.election && state.election.election_id) || "");
		document.title = T.t("docTitle", {title: title.text});
		var d = asOfDate(doc.as_of);
		var t = $("as-of");
		text(t, d ? T.dateTime(d) + " " + zone(d) : String(doc.as_of || "—"));
		if (d)
			t.setAttribute("datetime", d.toISOString());
		text($("sequence"), T.num(doc.sequence));
		if (typeof doc.sequence === "number")
			document.body.setAttribute("data-sequence", String(doc.sequence));
	}

	function renderDegraded() {
		var doc = state.totals || {};
		var el = $("degraded");
		if (doc.degraded) {
			V.clear(el);
			el.appendChild(document.createTextNode(T.t("degraded")));
			if (doc.degraded_reason) {
				el.appendChild(document.createTextNode(" " + T.t("degradedReason") + " "));
				var r = V.make("span", "", String(doc.degraded_reason));
				r.setAttribute("translate", "no");
				r.setAttribute("lang", "en");
				el.appendChild(r);
			}
			el.hidden = false;
		} else {
			el.hidden = true;
		}
	}

	function regionName(id) {
		var def = state.regionDefs[id];
		return T.nameEl(def || {id: id || "?"});
	}

	function conflictCount(doc) {
		if (doc.national)
			return doc.national.conflicts || 0;
		var n = 0;
		(doc.contests || []).forEach(function (c) {
			n = Math.max(n, (c.national && c.national.conflicts) || 0);
		});
		return n;
	}

	function renderIssues() {
		var doc = state.totals || {};
		var ul = V.clear($("conflicts"));
		var n = conflictCount(doc);
		var cc = $("conflicts-count");
		text(cc, T.num(n));
		cc.className = "count" + (n ? " nonzero" : "");
		if (Array.isArray(doc.conflicts) && doc.conflicts.length) {
			doc.conflicts.forEach(function (c) {
				var li = V.make("li");
				T.fill(li, "conflictLine", {p: String(c.precinct_id), region: regionName(c.region_id),
				                            rev: String(c.revision),
				                            copies: T.t("copies", {n: c.copies || 1})});
				ul.appendChild(li);
			});
			if (n > doc.conflicts.length)
				ul.appendChild(V.make("li", "empty", T.t("andMore", {n: n - doc.conflicts.length})));
		} else if (n && doc.regions) {
			doc.regions.forEach(function (r) {
				if (r.conflicts) {
					var li = V.make("li");
					T.fill(li, "regionConflicts", {region: regionName(r.id), n: r.conflicts});
					ul.appendChild(li);
				}
			});
		} else {
			ul.appendChild(V.make("li", "empty", T.t("none")));
		}

		var rl = V.clear($("rejections"));
		var rej = Array.isArray(doc.rejections) ? doc.rejections : [];
		if (!rej.length)
			rl.appendChild(V.make("li", "empty", T.t("none")));
		rej.forEach(function (r) {
			var li = V.make("li");
			var d = asOfDate(r.at);
			if (d)
				li.appendChild(document.createTextNode(T.timeSec(d) + " "));
			var code = String(r.code || "");
			var known = T.strings.en["rc_" + code] !== undefined;
			var c = V.make("span", "code", T.t(known ? "rc_" + code : "rc_other"));
			li.appendChild(c);
			var codeEl = V.make("span", "code-id", " " + code);
			codeEl.setAttribute("translate", "no");
			li.appendChild(codeEl);
			if (r.region_id) {
				li.appendChild(document.createTextNode(" · "));
				li.appendChild(regionName(r.region_id));
			}
			if (r.precinct_id)
				li.appendChild(document.createTextNode(" · " + T.t("precinct", {p: String(r.precinct_id)})));
			if (r.reason) {
				li.appendChild(document.createTextNode(": "));
				var why = V.make("span", "reason", String(r.reason));
				why.setAttribute("translate", "no");
				why.setAttribute("lang", "en");
				li.appendChild(why);
			}
			rl.appendChild(li);
		});
	}

	/* Today's /v1/totals document as a contest document. */
	function legacyContest(doc) {
		return {
			sequence: doc.sequence,
			contest: {id: "referendum", kind: "referendum", name: doc.title || "",
			          options: Array.isArray(doc.options) ? doc.options : null,
			          rules: (doc.decision && doc.decision.rules) || {}},
			national: doc.national || {},
			regions: doc.regions || [],
			districts: [],
			decision: doc.decision,
		};
	}

	function ctx() {
		return {
			election: state.election,
			totals: state.totals,
			regionDefs: state.regionDefs,
			single: entries().length < 2,
			hasDistricts: entries().some(function (e) { return e.id === "districts"; }),
			trend: state.trends[state.view] || null,
			trendAvailable: state.mode === "general" && state.trendAvailable,
			mapMode: state.mapMode,
			region: state.region,
			filter: state.filter,
			sort: function (table) {
				state.sorts[table] = state.sorts[table] || {key: null, dir: 1};
				return state.sorts[table];
			},
			link: link,
			choose: choose,
			chooseRegion: function (id) {
				if (state.view === "districts")
					state.filter = state.filter === id ? "" : id;
				else
					state.region = state.region === id ? null : id;
				renderView();
			},
			update: renderView,
		};
	}

	function renderView() {
		if (!state.view)
			return;
		var c = ctx();
		document.body.setAttribute("data-view", state.view);
		if (state.view === "districts") {
			if (!state.totals || !state.election)
				return;
			V.districts(c);
			document.body.setAttribute("data-view-sequence", String(state.totals.sequence));
			return;
		}
		var cdoc = state.mode === "legacy" ? (state.totals && legacyContest(state.totals)) : state.cdocs[state.view];
		if (!cdoc)
			return;
		c.cdoc = cdoc;
		V.contest(c);
		document.body.setAttribute("data-view-sequence", String(cdoc.sequence));
	}

	function renderAll() {
		applyStatic();
		renderHeader();
		renderDegraded();
		renderSwitcher();
		renderView();
		renderIssues();
		renderConn();
	}

	/* ---- data ---- */

	function refresh(id) {
		var have = state.cdocs[id];
		var seq = state.totals ? state.totals.sequence : 0;
		if (!have || have.sequence < seq)
			fetchContest(id);
	}

	function fetchContest(id) {
		if (state.inflight[id]) {
			state.pending[id] = true;
			return;
		}
		state.inflight[id] = true;
		getJSON("/v1/contests/" + encodeURIComponent(id)).then(function (doc) {
			var have = state.cdocs[id];
			if (doc && doc.contest && (!have || doc.sequence >= have.sequence)) {
				state.cdocs[id] = doc;
				if (state.view === id)
					renderView();
			}
		}).catch(function () {
			/* The next event asks again; the connection state is shown by the stream. */
		}).then(function () {
			state.inflight[id] = false;
			if (state.pending[id]) {
				state.pending[id] = false;
				refresh(id);
			}
		});
	}

	function refreshTrend(id, now) {
		if (state.mode !== "general" || !state.trendAvailable || id === "districts" || !id)
			return;
		var at = state.trendAt[id] || 0;
		if (!now && Date.now() - at < TREND_EVERY_MS)
			return;
		state.trendAt[id] = Date.now();
		getJSON("/v1/contests/" + encodeURIComponent(id) + "/trend").then(function (doc) {
			state.trends[id] = doc;
			if (state.view === id)
				renderView();
		}).catch(function (e) {
			if (e && e.status === 404 && state.cdocs[id]) {
				/* The contest exists but the aggregator keeps no trend: say nothing about it. */
				state.trendAvailable = false;
				renderView();
			}
		});
	}

	function accept(doc) {
		if (!doc || typeof doc !== "object" || (!doc.national && !Array.isArray(doc.contests)))
			return;
		var cur = state.totals;
		/* Never go back in time: a slow /v1/totals answer may arrive after an event. */
		if (cur && cur.election_id === doc.election_id && doc.sequence < cur.sequence)
			return;
		if (!cur || doc.sequence !== cur.sequence)
			state.lastChangeAt = Date.now();
		/* Keep the lists an earlier event brought if this document lacks them. */
		if (cur && !("conflicts" in doc) && Array.isArray(cur.conflicts))
			doc.conflicts = cur.conflicts;
		if (cur && !("rejections" in doc) && Array.isArray(cur.rejections))
			doc.rejections = cur.rejections;
		if (cur && !doc.options && cur.options)
			doc.options = cur.options;
		if (cur && !doc.title && cur.title)
			doc.title = cur.title;
		if (cur && !("degraded" in doc) && cur.degraded) {
			doc.degraded = cur.degraded;
			doc.degraded_reason = cur.degraded_reason;
		}
		state.totals = doc;
		if (state.mode === "legacy")
			(doc.regions || []).forEach(function (r) {
				state.regionDefs[r.id] = state.regionDefs[r.id] || {id: r.id, name: r.name};
			});
		renderHeader();
		renderDegraded();
		renderIssues();
		if (state.mode === "legacy" || state.view === "districts")
			renderView();
		else if (state.view) {
			refresh(state.view);
			refreshTrend(state.view, false);
		}
	}

	/* ---- connection state ---- */

	function renderConn() {
		var el = $("conn");
		el.className = "conn conn-" + state.conn;
		text(el, T.t(state.connKey, state.connParams));
	}

	function setConn(conn, key, params) {
		state.conn = conn;
		state.connKey = key;
		state.connParams = params || null;
		document.body.setAttribute("data-state", conn);
		renderConn();
	}

	function tick() {
		var now = Date.now();
		if (state.conn === "live" || state.conn === "stale") {
			var silent = now - state.lastMessageAt;
			if (silent > HEARTBEAT_STALE_MS)
				setConn("stale", "stale", {n: Math.round(silent / 1000)});
			else {
				var counting = false;
				var t = state.totals;
				if (t && t.national)
					counting = t.national.precincts_reported < t.national.precincts_total;
				else if (t && t.contests)
					counting = t.contests.some(function (c) {
						return c.national && c.national.precincts_reported < c.national.precincts_total;
					});
				var quiet = now - state.lastChangeAt;
				if (counting && state.lastChangeAt && quiet > QUIET_NOTE_MS)
					setConn("live", "liveQuiet", {n: Math.floor(quiet / 60000)});
				else
					setConn("live", "live");
			}
		}
	}

	function onMessage() {
		state.lastMessageAt = Date.now();
		state.retryMs = 1000;
		if (state.conn !== "live")
			setConn("live", "live");
	}

	function connect() {
		state.retryTimer = 0;
		var es;
		try {
			es = new EventSource("/v1/events");
		} catch (e) {
			scheduleRetry();
			return;
		}
		state.source = es;
		es.onopen = function () {
			onMessage();
		};
		es.addEventListener("totals", function (ev) {
			onMessage();
			var doc;
			try {
				doc = JSON.parse(ev.data);
			} catch (e) {
				/* A bad document is skipped; the next one replaces it. */
				return;
			}
			accept(doc);
		});
		es.addEventListener("heartbeat", onMessage);
		es.onerror = function () {
			if (es.readyState === EventSource.CLOSED) {
				/* Refused (e.g. 503, too many watchers): the browser will not retry, we do. */
				es.close();
				state.source = null;
				scheduleRetry();
			} else {
				setConn("down", "down");
			}
		};
	}

	function scheduleRetry(then) {
		if (state.retryTimer)
			return;
		var wait = state.retryMs;
		state.retryMs = Math.min(RETRY_MAX_MS, state.retryMs * 2);
		setConn("down", "retry", {n: Math.round(wait / 1000)});
		state.retryTimer = setTimeout(function () {
			state.retryTimer = 0;
			(then || connect)();
		}, wait);
	}

	function loadTotals() {
		return getJSON("/v1/totals").then(accept).catch(function () {
			/* The event stream brings the same state; its errors are shown. */
		});
	}

	function poll() {
		/* Fallback for browsers without EventSource. */
		loadTotals().then(function () {
			onMessage();
			setTimeout(poll, 5000);
		});
	}

	/* Which aggregator is this? Retries while it cannot be reached. */
	function detect() {
		return getJSON("/v1/election").then(function (e) {
			if (!e || !Array.isArray(e.contests) || !e.contests.length)
				throw Object.assign(new Error("no contests"), {status: 404});
			state.mode = "general";
			state.election = e;
			(e.regions || []).forEach(function (r) { state.regionDefs[r.id] = r; });
		}).catch(function (err) {
			if (err && err.status === 404) {
				state.mode = "legacy";
				state.trendAvailable = false;
				return;
			}
			return new Promise(function (resolve) { scheduleRetry(resolve); }).then(detect);
		});
	}

	function bind() {
		Array.prototype.forEach.call(document.querySelectorAll("#lang-switch button"), function (b) {
			b.addEventListener("click", function () {
				T.setLang(b.getAttribute("data-lang"), true);
				if (/[?&]lang=/.test(location.search))
					try {
						history.replaceState(null, "", location.pathname +
							location.search.replace(/([?&]lang=)[a-z]+/, "$1" + T.lang));
					} catch (e) {
						/* The choice is kept in storage all the same. */
					}
				renderAll();
			});
		});
		$("contest-select").addEventListener("change", function (ev) { choose(ev.target.value); });
		Array.prototype.forEach.call(document.querySelectorAll("#map-modes input"), function (inp) {
			inp.addEventListener("change", function () {
				state.mapMode = inp.value;
				renderView();
			});
		});
		$("district-filter").addEventListener("change", function (ev) {
			state.filter = ev.target.value;
			renderView();
		});
		$("district-sort").addEventListener("change", function (ev) {
			var s = ctx().sort("districts");
			s.key = ev.target.value;
			s.dir = ev.target.value === "margin" || ev.target.value === "reported" ? -1 : 1;
			renderView();
		});
		["keydown", "pointerdown"].forEach(function (k) {
			document.addEventListener(k, function (ev) {
				if (ev.isTrusted)
					state.pausedUntil = Date.now() + ROTATE_PAUSE_MS;
			}, true);
		});
		/*
		 * Leaving the page closes the stream: a page kept in the back/forward
		 * cache would otherwise hold one of the browser's few connections to
		 * the aggregator. Coming back opens it again.
		 */
		window.addEventListener("pagehide", function () {
			if (state.source) {
				state.source.close();
				state.source = null;
			}
		});
		window.addEventListener("pageshow", function (ev) {
			if (ev.persisted && !state.source && state.mode)
				connect();
		});
		/* The map's labels depend on its size (names on a wall, short forms on a phone). */
		var resizeTimer = 0;
		window.addEventListener("resize", function () {
			clearTimeout(resizeTimer);
			resizeTimer = setTimeout(renderView, 150);
		});
	}

	function start() {
		bind();
		setConn("loading", "loading");
		applyStatic();
		setInterval(tick, 1000);
		detect().then(function () {
			var want = contestParam ? decodeURIComponent(contestParam[1]) : null;
			state.view = validView(want) ? want : entries()[0].id;
			renderSwitcher();
			if (ROTATE_MS)
				setInterval(rotate, ROTATE_MS);
			if (typeof EventSource === "undefined") {
				poll();
				choose(state.view);
				return;
			}
			loadTotals().then(function () {
				choose(state.view);
				connect();
			});
		});
	}

	if (document.readyState === "loading")
		document.addEventListener("DOMContentLoaded", start);
	else
		start();
})();
