/*
 * The live page's logic, plain JavaScript with no library: load /v1/totals
 * for a first picture, then follow /v1/events (Server-Sent Events). Each
 * "totals" event carries the whole publication document, so the page never
 * has to merge deltas; "heartbeat" events prove the server is alive between
 * changes. The browser's EventSource reconnects by itself and sends
 * Last-Event-ID, and the server answers a reconnect with the current state
 * at once. If the stream is refused outright (EventSource gives up), the
 * page retries with a growing delay. Everything it shows comes from the
 * aggregator it was served by: nothing else is fetched.
 */
"use strict";

(function () {
	var HEARTBEAT_STALE_MS = 40000; /* server heartbeats every 15 s */
	var QUIET_NOTE_MS = 120000; /* "no new results for ..." while counting */
	var RETRY_MAX_MS = 30000;

	/* "?stale=N" shortens or lengthens the silence (seconds, at least 5) shown as stale. */
	var staleParam = /[?&]stale=(\d+)/.exec(location.search);
	if (staleParam)
		HEARTBEAT_STALE_MS = Math.max(5, Number(staleParam[1])) * 1000;

	var nf = new Intl.NumberFormat("en-US");
	var state = {
		doc: null,
		conn: "loading",
		lastMessageAt: 0,
		lastChangeAt: 0,
		sortKey: null,
		sortDir: 1,
		source: null,
		retryMs: 1000,
		retryTimer: 0,
	};

	function $(id) {
		return document.getElementById(id);
	}

	function num(n) {
		return typeof n === "number" && isFinite(n) ? nf.format(n) : "—";
	}

	function pct(p) {
		return typeof p === "number" && isFinite(p) ? p.toFixed(2) + "%" : "—";
	}

	function text(el, s) {
		if (el && el.textContent !== s)
			el.textContent = s;
	}

	function make(tag, cls, content) {
		var el = document.createElement(tag);
		if (cls)
			el.className = cls;
		if (content !== undefined)
			el.textContent = content;
		return el;
	}

	function clear(el) {
		while (el.firstChild)
			el.removeChild(el.firstChild);
	}

	/* The options in ballot order, with display names when the document has them. */
	function optionsOf(doc) {
		if (Array.isArray(doc.options) && doc.options.length)
			return doc.options.map(function (o) {
				return {id: String(o.id), name: String(o.name || o.id)};
			});
		var votes = (doc.national && doc.national.votes) || {};
		return Object.keys(votes).map(function (id) {
			return {id: id, name: id.charAt(0).toUpperCase() + id.slice(1)};
		});
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

	function fmtTime(d) {
		return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
		       pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
	}

	/* "UTC+5": the screen's zone, so a reader knows which clock "as of" is on. */
	function zone(d) {
		var m = -d.getTimezoneOffset();
		var sign = m < 0 ? "-" : "+";
		m = Math.abs(m);
		return "UTC" + sign + Math.floor(m / 60) + (m % 60 ? ":" + pad(m % 60) : "");
	}

	function reportedFraction(f) {
		return f && f.precincts_total ? f.precincts_reported / f.precincts_total : 0;
	}

	/* ---- rendering ---- */

	function renderHeader(doc) {
		var title = doc.title || doc.election_id || "Referendum results";
		text($("title"), title);
		text($("election-id"), doc.election_id || "");
		document.title = "Live: " + title;
		var d = asOfDate(doc.as_of);
		var t = $("as-of");
		text(t, d ? fmtTime(d) + " " + zone(d) : String(doc.as_of || "—"));
		if (d)
			t.setAttribute("datetime", d.toISOString());
		text($("sequence"), num(doc.sequence));
		document.body.setAttribute("data-sequence", String(doc.sequence));
	}

	function renderNational(doc, options) {
		var n = doc.national || {};
		var box = $("options");
		/* Rebuild only when the set of options changes; otherwise update in place. */
		if (box.getAttribute("data-options") !== options.map(function (o) { return o.id; }).join(",")) {
			clear(box);
			options.forEach(function (o) {
				var div = make("div", "option");
				div.setAttribute("data-option", o.id);
				var head = make("div", "head");
				head.appendChild(make("span", "name", o.name));
				head.appendChild(make("span", "pct"));
				div.appendChild(head);
				var bar = make("div", "bar");
				bar.setAttribute("role", "img");
				bar.appendChild(make("div", "fill"));
				div.appendChild(bar);
				div.appendChild(make("p", "votes"));
				box.appendChild(div);
			});
			box.setAttribute("data-options", options.map(function (o) { return o.id; }).join(","));
		}
		options.forEach(function (o, i) {
			var div = box.children[i];
			var count = n.votes ? n.votes[o.id] : undefined;
			var share = n.votes_pct ? n.votes_pct[o.id] : undefined;
			text(div.querySelector(".pct"), pct(share));
			text(div.querySelector(".votes"), num(count) + " votes");
			var w = Math.max(0, Math.min(100, share || 0));
			div.querySelector(".fill").style.width = w + "%";
			div.querySelector(".bar").setAttribute("aria-label", o.name + ": " + pct(share) + " of valid ballots");
		});
		text($("turnout"), pct(n.turnout_pct));
		text($("cast"), num(n.ballots_cast));
		text($("registered"), num(n.voters_registered));
		text($("reported"), num(n.precincts_reported));
		text($("precincts-total"), num(n.precincts_total));
		var rf = reportedFraction(n) * 100;
		text($("reported-pct"), pct(rf) + " reported");
		text($("invalid"), num(n.ballots_invalid));
		text($("not-counted"), num(n.ballots_not_counted));
		var bar = $("reported-bar");
		bar.querySelector(".fill").style.width = rf + "%";
		bar.setAttribute("aria-valuenow", rf.toFixed(1));
	}

	function renderDecision(doc) {
		var d = doc.decision;
		var card = $("decision-card");
		if (!d || !d.status || d.status === "none") {
			card.hidden = true;
			return;
		}
		card.hidden = false;
		var labels = {
			undetermined: "Not yet determined",
			passing: "Passing",
			failing: "Failing",
		};
		var st = $("decision-status");
		text(st, labels[d.status] || String(d.status));
		st.className = "decision-status " + d.status;
		var ul = $("decision-reasons");
		clear(ul);
		(d.reasons || []).forEach(function (r) {
			ul.appendChild(make("li", "", String(r)));
		});
	}

	function columns(options) {
		var cols = [
			{key: "name", label: "Region", get: function (r) { return String(r.name || r.id); }},
			{key: "reported", label: "Reported", get: function (r) { return reportedFraction(r); }},
			{key: "turnout", label: "Turnout", get: function (r) { return r.turnout_pct || 0; }},
		];
		options.forEach(function (o) {
			cols.push({
				key: "opt:" + o.id,
				label: o.name,
				get: function (r) { return (r.votes_pct && r.votes_pct[o.id]) || 0; },
			});
		});
		cols.push({key: "conflicts", label: "Conflicts", get: function (r) { return r.conflicts || 0; }});
		return cols;
	}

	function renderRegions(doc, options) {
		var cols = columns(options);
		var head = $("regions-head");
		if (head.getAttribute("data-cols") !== cols.map(function (c) { return c.key; }).join(",")) {
			clear(head);
			cols.forEach(function (c) {
				var th = make("th");
				th.setAttribute("scope", "col");
				th.setAttribute("data-key", c.key);
				var b = make("button", "", c.label);
				b.type = "button";
				b.addEventListener("click", function () {
					if (state.sortKey === c.key)
						state.sortDir = -state.sortDir;
					else {
						state.sortKey = c.key;
						state.sortDir = c.key === "name" ? 1 : -1;
					}
					if (state.doc)
						renderRegions(state.doc, optionsOf(state.doc));
				});
				th.appendChild(b);
				head.appendChild(th);
			});
			head.setAttribute("data-cols", cols.map(function (c) { return c.key; }).join(","));
		}
		Array.prototype.forEach.call(head.children, function (th) {
			var k = th.getAttribute("data-key");
			if (k === state.sortKey)
				th.setAttribute("aria-sort", state.sortDir > 0 ? "ascending" : "descending");
			else
				th.removeAttribute("aria-sort");
		});

		var rows = (doc.regions || []).map(function (r, i) { return {r: r, i: i}; });
		var col = cols.filter(function (c) { return c.key === state.sortKey; })[0];
		if (col) {
			rows.sort(function (a, b) {
				var x = col.get(a.r), y = col.get(b.r);
				var c = typeof x === "string" ? x.localeCompare(y) : x - y;
				return c ? c * state.sortDir : a.i - b.i;
			});
		}
		var body = $("regions-body");
		var frag = document.createDocumentFragment();
		rows.forEach(function (row) {
			var r = row.r;
			var tr = make("tr");
			tr.setAttribute("data-region", String(r.id));
			if (r.precincts_total && r.precincts_reported === r.precincts_total)
				tr.classList.add("complete");
			var th = make("th", "", String(r.name || r.id));
			th.setAttribute("scope", "row");
			frag.appendChild(tr);
			tr.appendChild(th);
			var rep = make("td");
			rep.appendChild(document.createTextNode(num(r.precincts_reported) + " / " + num(r.precincts_total)));
			var mini = make("span", "mini");
			mini.setAttribute("aria-hidden", "true");
			var mf = make("span", "fill");
			mf.style.width = reportedFraction(r) * 100 + "%";
			mini.appendChild(mf);
			rep.appendChild(mini);
			tr.appendChild(rep);
			tr.appendChild(make("td", "", pct(r.turnout_pct)));
			options.forEach(function (o) {
				var td = make("td", "", pct(r.votes_pct ? r.votes_pct[o.id] : undefined));
				td.title = num(r.votes ? r.votes[o.id] : undefined) + " votes";
				tr.appendChild(td);
			});
			tr.appendChild(make("td", r.conflicts ? "conflict" : "", num(r.conflicts || 0)));
		});
		clear(body);
		body.appendChild(frag);
	}

	function regionName(doc, id) {
		var rs = doc.regions || [];
		for (var i = 0; i < rs.length; i++)
			if (rs[i].id === id)
				return rs[i].name || id;
		return id || "?";
	}

	function renderIssues(doc) {
		var ul = $("conflicts");
		clear(ul);
		var n = (doc.national && doc.national.conflicts) || 0;
		var cc = $("conflicts-count");
		text(cc, num(n));
		cc.className = "count" + (n ? " nonzero" : "");
		if (Array.isArray(doc.conflicts) && doc.conflicts.length) {
			doc.conflicts.forEach(function (c) {
				ul.appendChild(make("li", "",
					"Precinct " + c.precinct_id + " (" + regionName(doc, c.region_id) + "): " +
					(c.copies || 1) + " conflicting cop" + ((c.copies || 1) === 1 ? "y" : "ies") +
					" of revision " + c.revision));
			});
			if (n > doc.conflicts.length)
				ul.appendChild(make("li", "empty", "… and " + num(n - doc.conflicts.length) + " more"));
		} else if (n) {
			(doc.regions || []).forEach(function (r) {
				if (r.conflicts)
					ul.appendChild(make("li", "", (r.name || r.id) + ": " + num(r.conflicts) +
						" precinct" + (r.conflicts === 1 ? "" : "s") + " in conflict"));
			});
		} else {
			ul.appendChild(make("li", "empty", "None."));
		}

		var rl = $("rejections");
		clear(rl);
		var rej = Array.isArray(doc.rejections) ? doc.rejections : [];
		if (!rej.length)
			rl.appendChild(make("li", "empty", "None."));
		rej.forEach(function (r) {
			var li = make("li");
			var d = asOfDate(r.at);
			li.appendChild(document.createTextNode((d ? fmtTime(d).slice(11) + " " : "")));
			li.appendChild(make("span", "code", String(r.code || "?")));
			var where = [];
			if (r.region_id)
				where.push(regionName(doc, r.region_id));
			if (r.precinct_id)
				where.push("precinct " + r.precinct_id);
			li.appendChild(document.createTextNode(
				(where.length ? " " + where.join(", ") : "") + (r.reason ? ": " + r.reason : "")));
			rl.appendChild(li);
		});
	}

	function renderDegraded(doc) {
		var el = $("degraded");
		if (doc.degraded) {
			text(el, "The aggregator cannot store results: nothing new is being acknowledged" +
			         (doc.degraded_reason ? " (" + doc.degraded_reason + ")" : "") +
			         ". The figures below are the last committed ones.");
			el.hidden = false;
		} else {
			el.hidden = true;
		}
	}

	function render(doc) {
		var options = optionsOf(doc);
		renderHeader(doc);
		renderDegraded(doc);
		renderNational(doc, options);
		renderDecision(doc);
		renderRegions(doc, options);
		renderIssues(doc);
	}

	function accept(doc) {
		if (!doc || typeof doc !== "object" || !doc.national)
			return;
		var cur = state.doc;
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
		state.doc = doc;
		render(doc);
	}

	/* ---- connection state ---- */

	function setConn(conn, label) {
		state.conn = conn;
		document.body.setAttribute("data-state", conn);
		var el = $("conn");
		el.className = "conn conn-" + conn;
		text(el, label);
	}

	function tick() {
		var now = Date.now();
		if (state.conn === "live" || state.conn === "stale") {
			var silent = now - state.lastMessageAt;
			if (silent > HEARTBEAT_STALE_MS)
				setConn("stale", "Stale: no word from the server for " + Math.round(silent / 1000) + " s");
			else {
				var n = state.doc && state.doc.national;
				var counting = n && n.precincts_reported < n.precincts_total;
				var quiet = now - state.lastChangeAt;
				if (counting && state.lastChangeAt && quiet > QUIET_NOTE_MS)
					setConn("live", "Live · no new results for " + Math.floor(quiet / 60000) + " min");
				else
					setConn("live", "Live");
			}
		}
	}

	function onMessage() {
		state.lastMessageAt = Date.now();
		state.retryMs = 1000;
		if (state.conn !== "live")
			setConn("live", "Live");
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
			try {
				accept(JSON.parse(ev.data));
			} catch (e) {
				/* A bad document is skipped; the next one replaces it. */
			}
		});
		es.addEventListener("heartbeat", onMessage);
		es.onerror = function () {
			if (es.readyState === EventSource.CLOSED) {
				/* Refused (e.g. 503, too many watchers): the browser will not retry, we do. */
				es.close();
				state.source = null;
				scheduleRetry();
			} else {
				setConn("down", "Disconnected: reconnecting…");
			}
		};
	}

	function scheduleRetry() {
		if (state.retryTimer)
			return;
		var wait = state.retryMs;
		state.retryMs = Math.min(RETRY_MAX_MS, state.retryMs * 2);
		setConn("down", "Disconnected: retrying in " + Math.round(wait / 1000) + " s");
		state.retryTimer = setTimeout(connect, wait);
	}

	function loadTotals() {
		return fetch("/v1/totals", {cache: "no-store", headers: {Accept: "application/json"}})
			.then(function (r) {
				if (!r.ok)
					throw new Error("HTTP " + r.status);
				return r.json();
			})
			.then(accept)
			.catch(function () {
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

	function start() {
		setInterval(tick, 1000);
		if (typeof EventSource === "undefined") {
			poll();
			return;
		}
		loadTotals().then(connect);
	}

	if (document.readyState === "loading")
		document.addEventListener("DOMContentLoaded", start);
	else
		start();
})();
