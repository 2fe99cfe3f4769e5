/*
 * views.js: what the page shows for one view: a contest (referendum,
 * candidate or party list: the national card, the decision, the map, the
 * night's trend, the regions table) or the overview of the single-mandate
 * districts. app.js owns the data and the connection and calls
 * Tally.views.contest(ctx) or Tally.views.districts(ctx) after each
 * change; everything here is a function of ctx and the page's language.
 *
 * ctx = {election, cdoc: /v1/contests/{id} (or today's /v1/totals made
 * into that shape), totals, trend, sort, mapMode, region, filter,
 * choose(viewId), update()}.
 */
"use strict";

(function () {
	var T = (window.Tally = window.Tally || {});
	var V = (T.views = {});

	var PALETTE = ["#5cb8ff", "#ff9f5c", "#c49bff", "#4fd18b", "#ffd166", "#ff7bb0", "#7ee0e0", "#e0b080"];
	var AGAINST = "#8a96a3";
	var NODATA = "#243447";
	var TURNOUT_BINS = ["#1f4a6b", "#23689c", "#2f86c3", "#5aa9e0", "#9fd0f5"];

	function $(id) {
		return document.getElementById(id);
	}

	function make(tag, cls, content) {
		var el = document.createElement(tag);
		if (cls)
			el.className = cls;
		if (content !== undefined && content !== null)
			el.textContent = content;
		return el;
	}

	function clear(el) {
		while (el.firstChild)
			el.removeChild(el.firstChild);
		return el;
	}

	function text(el, s) {
		if (el && el.textContent !== s)
			el.textContent = s;
	}

	function show(el, on) {
		if (el && el.hidden === !!on)
			el.hidden = !on;
	}

	V.make = make;
	V.clear = clear;

	/* ---- options and colours ---- */

	/* The contest's options in ballot order, each with its colour. */
	V.options = function (cdoc, election) {
		var c = cdoc.contest || {};
		var list = Array.isArray(c.options) && c.options.length ? c.options : null;
		if (!list) {
			var votes = (cdoc.national && cdoc.national.votes) || {};
			list = Object.keys(votes).map(function (id) {
				return {id: id, name: id.charAt(0).toUpperCase() + id.slice(1)};
			});
		}
		var parties = {};
		((election && election.parties) || []).forEach(function (p) { parties[p.id] = p; });
		var k = 0;
		return list.map(function (o) {
			var p = o.party ? parties[o.party] : null;
			var color = o.color || (p && p.color) || null;
			if (o.against_all)
				color = color || AGAINST;
			else if (!color)
				color = PALETTE[k % PALETTE.length];
			if (!o.against_all)
				k++;
			return {id: String(o.id), name: o.name || o.id, names: o.names, party: p,
			        against: !!o.against_all, color: color, raw: o};
		});
	};

	/* Black or white text, whichever reads on the colour (WCAG relative luminance). */
	function ink(hex) {
		var m = /^#?([0-9a-f]{6})$/i.exec(hex || "");
		if (!m)
			return "#000";
		var v = parseInt(m[1], 16);
		var ch = [(v >> 16) & 255, (v >> 8) & 255, v & 255].map(function (c) {
			c /= 255;
			return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
		});
		var L = 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2];
		return (L + 0.05) / 0.05 > 1.05 / (L + 0.05) ? "#000" : "#fff";
	}
	V.ink = ink;

	function pctOf(f) {
		return f && f.pct_of === "ballots_cast" ? "ballots_cast" : "valid";
	}

	function fraction(f) {
		return f && f.precincts_total ? f.precincts_reported / f.precincts_total : 0;
	}

	function swatch(color, cls) {
		var s = make("span", "swatch" + (cls ? " " + cls : ""));
		s.setAttribute("aria-hidden", "true");
		s.style.background = color;
		return s;
	}

	/* The option with most votes in f (against-all included: the map tells what is). */
	function leaderIn(f, options) {
		if (!f || !f.precincts_reported || !f.votes)
			return null;
		var best = null;
		options.forEach(function (o) {
			var v = f.votes[o.id] || 0;
			if (v > 0 && (!best || v > (f.votes[best.id] || 0)))
				best = o;
		});
		return best;
	}

	/* ---- the figures every contest has ---- */

	function renderFigures(n) {
		text($("turnout"), T.pct(n.turnout_pct));
		var cast = make("span", "", T.num(n.ballots_cast));
		cast.id = "cast";
		var reg = make("span", "", T.num(n.voters_registered));
		reg.id = "registered";
		T.fill($("cast-line"), "castOfRegistered", {cast: cast, registered: reg});
		var rep = make("span", "", T.num(n.precincts_reported));
		rep.id = "reported";
		var tot = make("span", "", T.num(n.precincts_total));
		tot.id = "precincts-total";
		var line = $("reported-line");
		clear(line);
		/* "8,110 of 10,817" with the first number large: the template decides the order. */
		var parts = T.t("ofTotal", {a: "\u0001", b: "\u0002"}).split(/(\u0001|\u0002)/);
		parts.forEach(function (p) {
			if (p === "\u0001")
				line.appendChild(rep);
			else if (p === "\u0002")
				line.appendChild(make("span", "of")).appendChild(tot);
			else if (p)
				line.appendChild(make("span", "of", p));
		});
		var rf = fraction(n) * 100;
		T.fill($("reported-pct"), "reportedPct", {pct: T.pct(rf)});
		var inv = make("span", "", T.num(n.ballots_invalid));
		inv.id = "invalid";
		T.fill($("invalid-line"), "invalidBallots", {n: inv});
		var nc = make("span", "", T.num(n.ballots_not_counted));
		nc.id = "not-counted";
		T.fill($("not-counted-line"), "notCounted", {n: nc});
		var bar = $("reported-bar");
		bar.querySelector(".fill").style.width = rf + "%";
		bar.setAttribute("aria-valuenow", rf.toFixed(1));
		bar.setAttribute("aria-label", T.t("precinctsReported"));
	}

	/* ---- referendum: as the page has always shown it ---- */

	function renderReferendum(box, cdoc, options) {
		var n = cdoc.national || {};
		var of = T.t("pctOf_" + pctOf(n));
		var div = $("options");
		var key = T.lang + ":" + options.map(function (o) { return o.id; }).join(",");
		if (!div || div.getAttribute("data-options") !== key) {
			clear(box);
			div = make("div", "options");
			div.id = "options";
			div.setAttribute("aria-live", "polite");
			options.forEach(function (o) {
				var d = make("div", "option");
				d.setAttribute("data-option", o.id);
				var head = make("div", "head");
				head.appendChild(T.nameEl(o)).classList.add("name");
				head.appendChild(make("span", "pct"));
				d.appendChild(head);
				var bar = make("div", "bar");
				bar.setAttribute("role", "img");
				var fill = make("div", "fill");
				fill.style.background = o.color;
				bar.appendChild(fill);
				d.appendChild(bar);
				d.appendChild(make("p", "votes"));
				div.appendChild(d);
			});
			div.setAttribute("data-options", key);
			box.appendChild(div);
		}
		options.forEach(function (o, i) {
			var d = div.children[i];
			var share = n.votes_pct ? n.votes_pct[o.id] : undefined;
			text(d.querySelector(".pct"), T.pct(share));
			text(d.querySelector(".votes"), T.t("votes", {n: n.votes ? n.votes[o.id] : NaN}));
			d.querySelector(".fill").style.width = Math.max(0, Math.min(100, share || 0)) + "%";
			d.querySelector(".bar").setAttribute("aria-label",
				T.t("barLabel", {name: T.nameOf(o).text, pct: T.pct(share), of: of}));
		});
	}

	/* ---- candidates ---- */

	function candidateStatus(d, byId) {
		var st = d && d.status;
		var nm = function (id) { return T.nameEl(byId[id] || {id: id}); };
		var p = make("p", "cand-status " + (st || ""));
		if (st === "elected" && d.elected && d.elected.length)
			T.fill(p, "cs_elected", {list: T.list(d.elected.map(nm))});
		else if (st === "tie" && d.tie)
			T.fill(p, "cs_tie", {list: T.list(d.tie.options.map(nm))});
		else if (st === "failed") {
			var first = d.ranking && d.ranking.length ? byId[d.ranking[0]] : null;
			T.fill(p, first && first.against ? "cs_failedAgainst" : "cs_failed", {});
		} else if (st === "runoff")
			T.fill(p, "cs_runoff", {});
		else
			T.fill(p, "cs_undetermined", {});
		return p;
	}

	function renderCandidates(box, cdoc, options, ctx) {
		var n = cdoc.national || {};
		var d = cdoc.decision || {};
		var rules = (cdoc.contest && cdoc.contest.rules) || d.rules || {};
		var of = pctOf(n);
		var byId = {};
		options.forEach(function (o) { byId[o.id] = o; });
		clear(box);
		if (cdoc.contest && cdoc.contest.scope && cdoc.contest.scope.district && ctx.hasDistricts) {
			var back = make("a", "back");
			back.href = ctx.link("districts");
			back.textContent = "← " + T.t("allDistricts");
			back.addEventListener("click", function (ev) {
				ev.preventDefault();
				ctx.choose("districts");
			});
			box.appendChild(back);
		}
		if (Array.isArray(d.runoff) && d.runoff.length === 2) {
			var banner = make("p", "runoff-banner");
			banner.id = "runoff-banner";
			T.fill(banner, "runoff", {a: T.nameEl(byId[d.runoff[0]] || {id: d.runoff[0]}),
			                          b: T.nameEl(byId[d.runoff[1]] || {id: d.runoff[1]})});
			box.appendChild(banner);
		}
		box.appendChild(candidateStatus(d, byId));
		var majority = rules.win === "absolute_majority";
		var order = Array.isArray(d.ranking) && d.ranking.length ? d.ranking.slice() : options.map(function (o) { return o.id; });
		options.forEach(function (o) {
			if (order.indexOf(o.id) < 0)
				order.push(o.id);
		});
		var ol = make("ol", "ranked" + (majority ? " with-majority" : ""));
		ol.id = "candidates";
		var elected = d.elected || [];
		order.forEach(function (id, rank) {
			var o = byId[id];
			if (!o)
				return;
			var li = make("li", "cand" + (o.against ? " against" : ""));
			li.setAttribute("data-option", o.id);
			var head = make("div", "head");
			var who = make("span", "who");
			who.appendChild(T.nameEl(o)).classList.add("name");
			if (o.against)
				who.appendChild(make("span", "note", T.t("againstAllCand")));
			else if (o.party)
				who.appendChild(T.nameEl(o.party, null)).classList.add("party");
			else
				who.appendChild(make("span", "note", T.t("selfNominated")));
			head.appendChild(who);
			if (elected.indexOf(o.id) >= 0)
				head.appendChild(make("span", "badge elected", "✓ " + T.t("elected")));
			else if (rank === 0 && !o.against && n.precincts_reported && d.status === "undetermined")
				head.appendChild(make("span", "badge leading", T.t("leading")));
			head.appendChild(make("span", "pct", T.pct(n.votes_pct ? n.votes_pct[o.id] : undefined)));
			li.appendChild(head);
			var bar = make("div", "bar");
			bar.setAttribute("role", "img");
			var share = n.votes_pct ? n.votes_pct[o.id] : undefined;
			bar.setAttribute("aria-label", T.t("barLabel", {name: T.nameOf(o).text, pct: T.pct(share),
			                                                of: T.t("pctOf_" + of)}));
			var fill = make("div", "fill");
			fill.style.width = Math.max(0, Math.min(100, share || 0)) + "%";
			fill.style.background = o.color;
			bar.appendChild(fill);
			if (majority) {
				var line = make("div", "mark");
				line.style.left = "50%";
				bar.appendChild(line);
			}
			li.appendChild(bar);
			li.appendChild(make("p", "votes", T.t("votes", {n: n.votes ? n.votes[o.id] : NaN})));
			ol.appendChild(li);
		});
		box.appendChild(ol);
		var foot = make("p", "scale-note");
		if (majority) {
			var key = make("span", "mark-key");
			key.setAttribute("aria-hidden", "true");
			foot.appendChild(key);
			foot.appendChild(document.createTextNode(T.t("majorityLine_" + of)));
		} else {
			foot.textContent = T.t("sharesOf_" + of);
		}
		box.appendChild(foot);
	}

	/* ---- party lists ---- */

	function renderPartyList(box, cdoc, options) {
		var c = cdoc.contest || {};
		var n = cdoc.national || {};
		var d = cdoc.decision || {};
		var rules = c.rules || d.rules || {};
		var seats = d.seats || {};
		var passed = d.passed || [];
		var of = pctOf(n);
		clear(box);
		var wrap = make("div", "party-list");
		/* Seats: the hemicycle and its legend. */
		var sb = make("div", "seats-box");
		var groups = [];
		var legend = make("ul", "seat-legend");
		legend.id = "seat-legend";
		var listText = [];
		options.forEach(function (o) {
			var k = seats[o.id] || 0;
			if (!k)
				return;
			groups.push({id: o.id, color: o.color, seats: k});
			var li = make("li");
			li.setAttribute("data-option", o.id);
			li.appendChild(swatch(o.color));
			li.appendChild(T.nameEl(o)).classList.add("name");
			li.appendChild(make("span", "n", T.num(k)));
			legend.appendChild(li);
			listText.push(T.nameOf(o).text + " " + T.num(k));
		});
		var lot = d.tie && d.tie.seats ? d.tie.seats : 0;
		if (lot) {
			groups.push({id: "lot", seats: lot, kind: "lot"});
			var li = make("li", "lot");
			li.setAttribute("data-option", "lot");
			li.appendChild(swatch("transparent", "lot"));
			li.appendChild(make("span", "name", T.t("lotSeat")));
			li.appendChild(make("span", "n", T.num(lot)));
			legend.appendChild(li);
			listText.push(T.t("lotSeat") + " " + T.num(lot));
		}
		var vacant = typeof d.vacant === "number" ? d.vacant : Array.isArray(d.vacant) ? d.vacant.length : 0;
		if (vacant) {
			groups.push({id: "vacant", seats: vacant, kind: "vacant"});
			var lv = make("li", "vacant");
			lv.setAttribute("data-option", "vacant");
			lv.appendChild(swatch("transparent", "vacant"));
			lv.appendChild(make("span", "name", T.t("vacant")));
			lv.appendChild(make("span", "n", T.num(vacant)));
			legend.appendChild(lv);
		}
		var total = c.seats || groups.reduce(function (a, g) { return a + g.seats; }, 0);
		var stKey = d.final ? "final" : "provisional";
		sb.appendChild(T.hemicycle(groups, {
			label: T.t("seatChartAlt", {total: T.num(total), status: T.t(stKey), list: listText.join(T.t("listSep"))}),
			center: T.num(total),
			sub: T.t(stKey),
		}));
		var badge = make("p", "alloc " + stKey);
		badge.id = "alloc-status";
		badge.textContent = T.t(d.final ? "finalNote" : "provisionalNote");
		sb.appendChild(badge);
		sb.appendChild(legend);
		if (lot) {
			var tie = make("p", "tie-note");
			tie.id = "tie-note";
			T.fill(tie, "tieSeats", {n: lot, list: T.list(d.tie.options.map(function (id) {
				var o = options.filter(function (x) { return x.id === id; })[0];
				return T.nameEl(o || {id: id});
			}))});
			sb.appendChild(tie);
		}
		if (vacant) {
			var vn = make("p", "tie-note");
			vn.textContent = T.t("vacantSeats", {n: vacant});
			sb.appendChild(vn);
		}
		wrap.appendChild(sb);

		/* Votes: bars on one scale with the threshold line. */
		var vb = make("div", "votes-box");
		vb.appendChild(make("h3", "", T.t("sharesOf_" + of)));
		var max = 0;
		options.forEach(function (o) { max = Math.max(max, (n.votes_pct && n.votes_pct[o.id]) || 0); });
		var scale = Math.max(10, Math.ceil(max / 10) * 10);
		var thr = typeof rules.threshold_pct === "number" ? rules.threshold_pct : null;
		var ul = make("ul", "list-bars");
		ul.id = "list-bars";
		options.forEach(function (o) {
			var share = n.votes_pct ? n.votes_pct[o.id] : undefined;
			var isPassed = passed.indexOf(o.id) >= 0;
			var li = make("li", "lb" + (o.against ? " against" : isPassed || !n.precincts_reported ? "" : " below"));
			li.setAttribute("data-option", o.id);
			var head = make("div", "head");
			head.appendChild(T.nameEl(o)).classList.add("name");
			var k = seats[o.id] || 0;
			if (k)
				head.appendChild(make("span", "seats-n", T.t("seatsN", {n: k})));
			head.appendChild(make("span", "pct", T.pct(share)));
			li.appendChild(head);
			var bar = make("div", "bar");
			bar.setAttribute("role", "img");
			bar.setAttribute("aria-label", T.t("barLabel", {name: T.nameOf(o).text, pct: T.pct(share),
			                                                of: T.t("pctOf_" + of)}));
			var fill = make("div", "fill");
			fill.style.width = Math.max(0, Math.min(100, 100 * (share || 0) / scale)) + "%";
			fill.style.background = o.color;
			bar.appendChild(fill);
			if (thr !== null && !o.against) {
				var mk = make("div", "mark");
				mk.style.left = (100 * thr / scale) + "%";
				bar.appendChild(mk);
			}
			li.appendChild(bar);
			var foot = make("p", "votes");
			foot.appendChild(document.createTextNode(T.t("votes", {n: n.votes ? n.votes[o.id] : NaN})));
			if (o.against)
				foot.appendChild(make("span", "note", " · " + T.t("againstAllList")));
			else if (!isPassed && n.precincts_reported)
				foot.appendChild(make("span", "note", " · " + T.t("belowThreshold")));
			li.appendChild(foot);
			ul.appendChild(li);
		});
		vb.appendChild(ul);
		if (thr !== null) {
			var tn = make("p", "scale-note");
			var key = make("span", "mark-key");
			key.setAttribute("aria-hidden", "true");
			tn.appendChild(key);
			tn.appendChild(document.createTextNode(T.t("threshold", {pct: T.pct(thr)}) + " " +
			                                       T.t("pctOf_" + of)));
			vb.appendChild(tn);
		}
		wrap.appendChild(vb);
		box.appendChild(wrap);
	}

	/* ---- the decision card ---- */

	function ruleLines(cdoc, options, ctx) {
		var c = cdoc.contest || {};
		var d = cdoc.decision || {};
		var rules = c.rules || d.rules || {};
		var n = cdoc.national || {};
		var of = pctOf(n);
		var out = [];
		if (c.kind === "party_list") {
			out.push(T.t("ruleThreshold", {pct: T.pct(rules.threshold_pct || 0), of: T.t("pctOf_" + (rules.threshold_of === "ballots_cast" ? "ballots_cast" : "valid")),
			                               method: T.t("m_" + (rules.method || "hare")),
			                               tie: T.t("tie_" + (rules.tie || "ballot_order"))}));
		} else if (c.kind === "candidate") {
			out.push(rules.win === "absolute_majority" ? T.t("ruleMajority_" + (rules.majority_of === "valid" ? "valid" : "ballots_cast"))
			                                           : T.t("rulePlurality"));
		}
		if (typeof rules.min_turnout_pct === "number")
			out.push(T.t("ruleTurnout", {min: T.pct(rules.min_turnout_pct), now: T.pct(n.turnout_pct)}));
		if (c.kind === "referendum" && typeof rules.region_majority_fraction === "number" && options.length) {
			var first = options[0];
			var regs = cdoc.regions || [];
			var now = regs.filter(function (r) {
				return r.votes && 2 * (r.votes[first.id] || 0) > (r.ballots_cast || 0) && r.ballots_cast > 0;
			}).length;
			var li = make("li");
			T.fill(li, "ruleRegions", {opt: T.nameEl(first), frac: T.pct(rules.region_majority_fraction * 100),
			                           n: now, m: regs.length});
			out.push(li);
		}
		void of;
		void ctx;
		return out;
	}

	function renderDecision(cdoc, options, ctx) {
		var d = cdoc.decision;
		var card = $("decision-card");
		var kind = cdoc.contest && cdoc.contest.kind;
		if (!d || !d.status || d.status === "none") {
			show(card, false);
			return;
		}
		show(card, true);
		var st = $("decision-status");
		var label;
		if (kind === "party_list")
			label = d.status === "tie" ? T.t("ds_tie") : T.t(d.final ? "final" : "provisional");
		else if (kind === "candidate")
			label = T.t("ds_" + (d.status in {elected: 1, tie: 1, failed: 1, runoff: 1} ? d.status : "counting"));
		else
			label = T.t("st_" + (d.status in {undetermined: 1, passing: 1, failing: 1} ? d.status : "undetermined"));
		text(st, label.charAt(0).toUpperCase() + label.slice(1));
		st.className = "decision-status " + d.status;
		var ul = clear($("decision-reasons"));
		ruleLines(cdoc, options, ctx).forEach(function (r) {
			ul.appendChild(typeof r === "string" ? make("li", "", r) : r);
		});
	}

	/* ---- sortable tables ---- */

	function sortableHead(head, cols, sort, rerender) {
		var key = T.lang + ":" + cols.map(function (c) { return c.key; }).join(",");
		if (head.getAttribute("data-cols") !== key) {
			clear(head);
			cols.forEach(function (c) {
				var th = make("th", (c.cls || "") + (c.text ? " left" : ""));
				th.setAttribute("scope", "col");
				th.setAttribute("data-key", c.key);
				var b = make("button");
				b.type = "button";
				if (c.labelEl)
					b.appendChild(c.labelEl);
				else
					b.textContent = c.label;
				b.addEventListener("click", function () {
					if (sort.key === c.key)
						sort.dir = -sort.dir;
					else {
						sort.key = c.key;
						sort.dir = c.text ? 1 : -1;
					}
					rerender();
				});
				th.appendChild(b);
				head.appendChild(th);
			});
			head.setAttribute("data-cols", key);
		}
		Array.prototype.forEach.call(head.children, function (th) {
			if (th.getAttribute("data-key") === sort.key)
				th.setAttribute("aria-sort", sort.dir > 0 ? "ascending" : "descending");
			else
				th.removeAttribute("aria-sort");
		});
	}

	function sortRows(rows, cols, sort) {
		var col = cols.filter(function (c) { return c.key === sort.key; })[0];
		var items = rows.map(function (r, i) { return {r: r, i: i}; });
		if (col)
			items.sort(function (a, b) {
				var x = col.get(a.r), y = col.get(b.r);
				var c = typeof x === "string" ? x.localeCompare(y, T.locale) : x - y;
				return c ? c * sort.dir : a.i - b.i;
			});
		return items.map(function (it) { return it.r; });
	}

	function miniBar(f) {
		var mini = make("span", "mini");
		mini.setAttribute("aria-hidden", "true");
		var mf = make("span", "fill");
		mf.style.width = fraction(f) * 100 + "%";
		mini.appendChild(mf);
		return mini;
	}

	/* ---- regions table ---- */

	function regionName(ctx, r) {
		var def = ctx.regionDefs[r.id];
		return T.nameOf(def || r);
	}

	function renderRegions(cdoc, options, ctx) {
		var regs = cdoc.regions || [];
		var card = $("regions-card");
		var isDistrictContest = cdoc.contest && cdoc.contest.scope && cdoc.contest.scope.district;
		/* A contest of one region or one district: its figures are the national ones above. */
		show(card, regs.length > 1);
		void isDistrictContest;
		var sort = ctx.sort("regions");
		var many = options.length > 3;
		var cols = [
			{key: "name", text: true, label: T.t("region"), get: function (r) { return regionName(ctx, r).text; }},
			{key: "reported", label: T.t("reported"), get: fraction},
			{key: "turnout", label: T.t("turnoutShort"), get: function (r) { return r.turnout_pct || 0; }},
		];
		if (many)
			cols.push({key: "leader", text: true, cls: "leader-col", label: T.t("leader"), get: function (r) {
				var l = leaderIn(r, options);
				return l ? T.nameOf(l).text : "";
			}});
		options.forEach(function (o) {
			cols.push({key: "opt:" + o.id, cls: "opt-col", labelEl: T.nameEl(o),
			           get: function (r) { return (r.votes_pct && r.votes_pct[o.id]) || 0; }});
		});
		cols.push({key: "conflicts", label: T.t("conflicts"), cls: "conf-col", get: function (r) { return r.conflicts || 0; }});
		var table = $("regions-table");
		table.classList.toggle("many", many);
		text($("regions-caption"), T.t("regionsCaption"));
		sortableHead($("regions-head"), cols, sort, ctx.update);
		var body = $("regions-body");
		var frag = document.createDocumentFragment();
		sortRows(regs, cols, sort).forEach(function (r) {
			var tr = make("tr");
			tr.setAttribute("data-region", String(r.id));
			if (r.precincts_total && r.precincts_reported === r.precincts_total)
				tr.classList.add("complete");
			if (ctx.region === r.id)
				tr.classList.add("chosen");
			var th = make("th");
			th.setAttribute("scope", "row");
			th.appendChild(T.nameEl(ctx.regionDefs[r.id] || r));
			tr.appendChild(th);
			var rep = make("td");
			rep.appendChild(document.createTextNode(T.num(r.precincts_reported)));
			/* " / total" goes under the count on a phone; the text reads the same. */
			rep.appendChild(make("span", "of-total", " / " + T.num(r.precincts_total)));
			rep.appendChild(miniBar(r));
			tr.appendChild(rep);
			var none = !r.precincts_reported;
			tr.appendChild(make("td", "", none ? "—" : T.pct(r.turnout_pct)));
			if (many) {
				var l = leaderIn(r, options);
				var td = make("td", "leader-col");
				if (l) {
					td.appendChild(swatch(l.color));
					td.appendChild(T.nameEl(l));
					td.appendChild(document.createTextNode(" " + T.pct(r.votes_pct ? r.votes_pct[l.id] : undefined)));
				} else {
					td.textContent = "—";
				}
				tr.appendChild(td);
			}
			options.forEach(function (o) {
				var td = make("td", "opt-col", none ? "—" : T.pct(r.votes_pct ? r.votes_pct[o.id] : undefined));
				td.title = T.t("votes", {n: r.votes ? r.votes[o.id] : NaN});
				tr.appendChild(td);
			});
			tr.appendChild(make("td", "conf-col" + (r.conflicts ? " conflict" : ""), T.num(r.conflicts || 0)));
			frag.appendChild(tr);
		});
		clear(body).appendChild(frag);
	}

	/* ---- the map ---- */

	var tileMap = null;

	function mapLabel(ctx, def, all) {
		/* The name without the words every region has ("облысы", "город"), unless two then clash. */
		var words = T.words("regionWords").map(function (w) { return w.toLowerCase(); });
		function strip(name) {
			var kept = name.split(" ").filter(function (w) { return words.indexOf(w.toLowerCase()) < 0; });
			return kept.length ? kept.join(" ") : name;
		}
		var full = T.nameOf(def).text;
		var short = strip(full);
		var clash = all.some(function (o) { return o !== def && strip(T.nameOf(o).text) === short; });
		var label = clash ? full : short;
		var parts = label.split(/[ -]/).filter(function (w) { return w && words.indexOf(w.toLowerCase()) < 0; });
		var abbr = parts.length > 1 ? parts.map(function (w) { return w.charAt(0).toUpperCase(); }).join("")
		                            : label.slice(0, 3);
		if (clash) {
			var gen = full.split(" ").filter(function (w) { return words.indexOf(w.toLowerCase()) >= 0; })[0];
			if (gen)
				abbr = short.slice(0, 3) + " " + gen.charAt(0) + ".";
		}
		return {label: label, abbr: abbr};
	}

	function turnoutBins(regs) {
		var vals = regs.filter(function (r) { return r.precincts_reported; }).map(function (r) { return r.turnout_pct || 0; });
		if (!vals.length)
			return null;
		var lo = Math.floor(Math.min.apply(null, vals) / 5) * 5;
		var hi = Math.ceil(Math.max.apply(null, vals) / 5) * 5;
		if (hi <= lo)
			hi = lo + 5;
		var step = (hi - lo) / TURNOUT_BINS.length;
		return {lo: lo, step: step, colour: function (p) {
			var i = Math.min(TURNOUT_BINS.length - 1, Math.max(0, Math.floor((p - lo) / step)));
			return TURNOUT_BINS[i];
		}};
	}

	function legendItem(ul, color, label, cls) {
		var li = make("li", cls || "");
		li.appendChild(swatch(color, cls));
		if (typeof label === "string")
			li.appendChild(make("span", "", label));
		else
			li.appendChild(label);
		ul.appendChild(li);
	}

	/*
	 * The map of a view: items per region with a fill and words. `paint`
	 * gives {fill, what (words for the tile's label), value (short text on
	 * the tile), key (legend entry)} for a region's definition.
	 */
	function renderMap(ctx, regionIds, paint, legendEntries, detail) {
		var card = $("map-card");
		var defs = regionIds.map(function (id) { return ctx.regionDefs[id]; })
		                    .filter(function (d) { return d && Array.isArray(d.tile); });
		if (defs.length < 2) {
			show(card, false);
			return;
		}
		show(card, true);
		var host = $("map");
		host.setAttribute("data-label", T.t("map"));
		if (!tileMap)
			tileMap = new T.TileMap(host, function (id) { ctx.chooseRegion(id); });
		var items = defs.map(function (def) {
			var p = paint(def);
			var lab = mapLabel(ctx, def, defs);
			return {id: def.id, col: def.tile[0], row: def.tile[1], label: lab.label, abbr: lab.abbr,
			        fill: p.fill, ink: ink(p.fill), value: p.value,
			        title: T.t("tileLabel", {region: T.nameOf(def).text, what: p.what}),
			        pressed: ctx.region === def.id};
		});
		tileMap.update(items);
		if (tileMap.svg)
			tileMap.svg.setAttribute("aria-label", T.t("map"));
		var ul = clear($("map-legend"));
		legendEntries.forEach(function (e) { legendItem(ul, e.color, e.label, e.cls); });
		text($("map-note"), T.t("mapNote"));
		var box = clear($("map-detail"));
		if (ctx.region && ctx.regionDefs[ctx.region] && detail)
			detail(box, ctx.region);
		else
			box.appendChild(make("p", "hint", T.t("mapHint")));
	}

	function renderContestMap(cdoc, options, ctx) {
		var regs = cdoc.regions || [];
		var byId = {};
		regs.forEach(function (r) { byId[r.id] = r; });
		var mode = ctx.mapMode;
		var bins = turnoutBins(regs);
		$("map-modes").hidden = false;
		Array.prototype.forEach.call(document.querySelectorAll("#map-modes input"), function (inp) {
			inp.checked = inp.value === mode;
		});
		text($("map-mode-leader"), T.t("byLeader"));
		text($("map-mode-turnout"), T.t("byTurnout"));
		text($("map-modes-legend"), T.t("colourBy"));
		var leaders = {};
		var paint = function (def) {
			var r = byId[def.id];
			if (!r || !r.precincts_reported)
				return {fill: NODATA, what: T.t("noDataYet"), value: ""};
			if (mode === "turnout") {
				return {fill: bins.colour(r.turnout_pct || 0), what: T.t("turnoutIs", {pct: T.pct(r.turnout_pct)}),
				        value: T.pct0(r.turnout_pct)};
			}
			var l = leaderIn(r, options);
			if (!l)
				return {fill: NODATA, what: T.t("noDataYet"), value: ""};
			leaders[l.id] = l;
			var share = r.votes_pct ? r.votes_pct[l.id] : undefined;
			return {fill: l.color, what: T.t("leaderIs", {name: T.nameOf(l).text, pct: T.pct(share)}),
			        value: T.pct0(share)};
		};
		/* Paint first (collects the leaders), then the legend. */
		var ids = regs.map(function (r) { return r.id; });
		ids.forEach(function (id) { if (ctx.regionDefs[id]) paint(ctx.regionDefs[id]); });
		var legend = [];
		if (mode === "turnout" && bins) {
			TURNOUT_BINS.forEach(function (c, i) {
				legend.push({color: c, label: T.pct0(bins.lo + i * bins.step) + "–" + T.pct0(bins.lo + (i + 1) * bins.step)});
			});
		} else {
			options.forEach(function (o) {
				if (leaders[o.id])
					legend.push({color: o.color, label: T.nameEl(o)});
			});
		}
		if (regs.some(function (r) { return !r.precincts_reported; }))
			legend.push({color: NODATA, label: T.t("legendNoData"), cls: "nodata"});
		renderMap(ctx, ids, paint, legend, function (box, id) {
			var r = byId[id];
			var h = make("h3");
			h.appendChild(T.nameEl(ctx.regionDefs[id]));
			box.appendChild(h);
			if (!r || !r.precincts_reported) {
				box.appendChild(make("p", "hint", T.t("noDataYet")));
				return;
			}
			var dl = make("dl", "region-figures");
			function row(k, v) {
				dl.appendChild(make("dt", "", k));
				var dd = make("dd");
				if (typeof v === "string")
					dd.textContent = v;
				else
					dd.appendChild(v);
				dl.appendChild(dd);
			}
			row(T.t("reported"), T.num(r.precincts_reported) + " / " + T.num(r.precincts_total));
			row(T.t("turnout"), T.pct(r.turnout_pct));
			var ranked = options.slice().sort(function (a, b) {
				return ((r.votes || {})[b.id] || 0) - ((r.votes || {})[a.id] || 0);
			});
			ranked.slice(0, 4).forEach(function (o) {
				var dt = make("dt");
				dt.appendChild(swatch(o.color));
				dt.appendChild(T.nameEl(o));
				dl.appendChild(dt);
				dl.appendChild(make("dd", "", T.pct(r.votes_pct ? r.votes_pct[o.id] : undefined)));
			});
			box.appendChild(dl);
		});
	}

	/* ---- the night's trend ---- */

	function renderTrend(cdoc, options, ctx) {
		var card = $("trend-card");
		var tr = ctx.trend;
		if (!ctx.trendAvailable) {
			show(card, false);
			return;
		}
		show(card, true);
		var box = clear($("trend"));
		var pts = tr && Array.isArray(tr.points) ? tr.points : [];
		if (pts.length < 2) {
			box.appendChild(make("p", "hint", T.t("trendEmpty")));
			return;
		}
		var n = cdoc.national || {};
		var of = pctOf(n);
		var total = n.precincts_total || 0;
		var last = pts[pts.length - 1];
		var top = options.filter(function (o) { return !o.against; }).sort(function (a, b) {
			return ((last.votes || {})[b.id] || 0) - ((last.votes || {})[a.id] || 0);
		}).slice(0, 3);
		function share(p, id) {
			var den = of === "ballots_cast" ? p.ballots_cast : p.valid;
			return den ? 100 * ((p.votes || {})[id] || 0) / den : null;
		}
		var series = [{values: pts.map(function (p) { return total ? 100 * p.precincts_reported / total : null; }),
		               color: "#eef3f8", dashed: true}];
		top.forEach(function (o) {
			series.push({values: pts.map(function (p) { return share(p, o.id); }), color: o.color});
		});
		var t0 = new Date(pts[0].t), t1 = new Date(last.t);
		var leaders = top.map(function (o) { return T.nameOf(o).text + " " + T.pct(share(last, o.id)); }).join(T.t("listSep"));
		var summary = T.t("trendSummary", {t0: T.time(t0), t1: T.time(t1),
		                                    pct: T.pct(total ? 100 * last.precincts_reported / total : 0),
		                                    leaders: leaders});
		var fig = make("figure", "trend-figure");
		fig.appendChild(make("p", "note", T.t("sharesOf_" + of)));
		fig.appendChild(T.trendChart({times: pts.map(function (p) { return p.t; }), series: series,
		                              label: summary,
		                              pctLabel: function (p) { return T.pct0(p); },
		                              timeLabel: function (t) { return T.time(new Date(t)); }}));
		var ul = make("ul", "trend-legend");
		var li = make("li");
		var dash = make("span", "swatch dashed");
		dash.setAttribute("aria-hidden", "true");
		li.appendChild(dash);
		li.appendChild(make("span", "", T.t("trendReported")));
		ul.appendChild(li);
		top.forEach(function (o) {
			var l = make("li");
			l.appendChild(swatch(o.color));
			l.appendChild(T.nameEl(o));
			ul.appendChild(l);
		});
		fig.appendChild(ul);
		var cap = make("figcaption", "trend-summary", summary);
		fig.appendChild(cap);
		box.appendChild(fig);
	}

	/* ---- layout ---- */

	/*
	 * The cards of each layout by column: "main" (the contest), "side" and
	 * "rest" (full width below). "classic" is the page as it has always
	 * been for one referendum: the regions beside the result.
	 */
	var LAYOUTS = {
		map: [["national-card", "districts-card", "decision-card"], ["map-card", "trend-card"], ["regions-card", "issues-card"]],
		classic: [["national-card", "districts-card", "decision-card", "issues-card"], ["regions-card", "map-card", "trend-card"], []],
		solo: [["national-card", "decision-card"], ["trend-card", "map-card"], ["regions-card", "districts-card", "issues-card"]],
		districts: [["districts-card", "national-card", "decision-card"], ["map-card", "issues-card", "trend-card"], ["regions-card"]],
	};

	function arrange(name) {
		document.body.setAttribute("data-layout", name);
		["col-main", "col-side", "col-rest"].forEach(function (col, i) {
			var host = $(col);
			LAYOUTS[name][i].forEach(function (id, k) {
				var el = $(id);
				if (el.parentNode !== host || host.children[k] !== el)
					host.insertBefore(el, host.children[k] || null);
			});
		});
	}

	/* ---- a contest ---- */

	V.contest = function (ctx) {
		var cdoc = ctx.cdoc;
		var c = cdoc.contest || {};
		var options = V.options(cdoc, ctx.election);
		document.body.setAttribute("data-kind", c.kind || "referendum");
		show($("national-card"), true);
		show($("districts-card"), false);
		var h = $("national-h");
		if (ctx.single)
			text(h, T.t("nationalResult"));
		else
			clear(h).appendChild(T.nameEl(c));
		var box = $("kind-body");
		if (box.getAttribute("data-kind") !== c.kind) {
			clear(box);
			box.setAttribute("data-kind", c.kind || "");
		}
		if (c.kind === "party_list")
			renderPartyList(box, cdoc, options);
		else if (c.kind === "candidate")
			renderCandidates(box, cdoc, options, ctx);
		else
			renderReferendum(box, cdoc, options);
		renderFigures(cdoc.national || {});
		renderDecision(cdoc, options, ctx);
		renderRegions(cdoc, options, ctx);
		renderContestMap(cdoc, options, ctx);
		renderTrend(cdoc, options, ctx);
		arrange(!$("map-card").hidden ? "map" : !$("regions-card").hidden ? "classic" : "solo");
	};

	/* ---- the single-mandate districts ---- */

	/* One row per district contest, from the totals document and the definition. */
	V.districtRows = function (ctx) {
		var e = ctx.election;
		var dist = {};
		(e.districts || []).forEach(function (d) { dist[d.id] = d; });
		var byContest = {};
		((ctx.totals && ctx.totals.contests) || []).forEach(function (c) { byContest[c.id] = c; });
		var rows = [];
		(e.contests || []).forEach(function (c) {
			if (!c.scope || !c.scope.district)
				return;
			var live = byContest[c.id] || {};
			var n = live.national || {};
			var d = live.decision || {};
			var options = V.options({contest: c, national: n}, e);
			var byId = {};
			options.forEach(function (o) { byId[o.id] = o; });
			var ranking = Array.isArray(d.ranking) && d.ranking.length ? d.ranking : options.slice().sort(function (a, b) {
				return ((n.votes || {})[b.id] || 0) - ((n.votes || {})[a.id] || 0);
			}).map(function (o) { return o.id; });
			var has = n.precincts_reported > 0;
			var leader = has ? byId[ranking[0]] : null;
			var second = has && ranking.length > 1 ? byId[ranking[1]] : null;
			var def = dist[c.scope.district] || {id: c.scope.district};
			rows.push({
				contest: c, def: def, national: n, decision: d, options: options,
				regions: def.regions || [],
				leader: leader, second: second,
				margin: leader && second && n.votes_pct ? n.votes_pct[leader.id] - n.votes_pct[second.id] : null,
				marginVotes: leader && second && n.votes ? n.votes[leader.id] - n.votes[second.id] : null,
				status: !has ? "noData" : d.status in {elected: 1, tie: 1, failed: 1, runoff: 1} ? d.status : "counting",
			});
		});
		return rows;
	};

	function statusCell(row) {
		var s = make("span", "ds ds-" + row.status, T.t("ds_" + row.status));
		return s;
	}

	function leaderCell(row) {
		var frag = document.createDocumentFragment();
		if (!row.leader) {
			frag.appendChild(document.createTextNode("—"));
			return frag;
		}
		frag.appendChild(swatch(row.leader.color));
		frag.appendChild(T.nameEl(row.leader));
		var sub = make("span", "sub");
		if (row.leader.against)
			sub.textContent = " · " + T.t("againstAllCand");
		else if (row.leader.party)
			sub.appendChild(document.createTextNode(" · ")), sub.appendChild(T.nameEl(row.leader.party));
		else
			sub.textContent = " · " + T.t("selfNominated");
		frag.appendChild(sub);
		return frag;
	}

	function marginText(row) {
		if (row.margin === null)
			return "—";
		return T.t("marginPts", {pts: T.dec(row.margin)}) + " (" + T.num(row.marginVotes) + ")";
	}

	function marginCell(row) {
		var td = make("td", "margin");
		if (row.margin === null) {
			td.textContent = "—";
			return td;
		}
		td.appendChild(make("span", "", T.t("marginPts", {pts: T.dec(row.margin)})));
		td.appendChild(make("span", "sub block", T.t("votes", {n: row.marginVotes})));
		return td;
	}

	V.districts = function (ctx) {
		var e = ctx.election;
		document.body.setAttribute("data-kind", "districts");
		arrange("districts");
		show($("national-card"), false);
		show($("decision-card"), false);
		show($("regions-card"), false);
		show($("trend-card"), false);
		show($("districts-card"), true);
		text($("districts-h"), T.t("districtsTitle"));
		var rows = V.districtRows(ctx);
		var decided = rows.filter(function (r) { return r.decision && r.decision.final; }).length;
		T.fill($("districts-decided"), "districtsDecided", {n: decided, m: rows.length});
		/* Elected so far, by party. */
		var byParty = {}, order = [];
		rows.forEach(function (r) {
			(r.decision.elected || []).forEach(function (id) {
				var o = r.options.filter(function (x) { return x.id === id; })[0];
				var key = o && o.party ? o.party.id : "";
				if (!(key in byParty)) {
					byParty[key] = {n: 0, party: o && o.party, color: o ? o.color : AGAINST};
					order.push(key);
				}
				byParty[key].n++;
			});
		});
		var chips = clear($("districts-elected"));
		text($("districts-elected-h"), T.t("electedSoFar"));
		if (!order.length)
			chips.appendChild(make("li", "empty", T.t("noneElected")));
		var parties = (e.parties || []).map(function (p) { return p.id; });
		order.sort(function (a, b) { return (parties.indexOf(a) + 1 || 999) - (parties.indexOf(b) + 1 || 999); });
		order.forEach(function (k) {
			var li = make("li", "chip");
			li.setAttribute("data-party", k);
			li.appendChild(swatch(byParty[k].color));
			li.appendChild(byParty[k].party ? T.nameEl(byParty[k].party) : make("span", "", T.t("noParty")));
			li.appendChild(make("strong", "", T.num(byParty[k].n)));
			chips.appendChild(li);
		});

		/* The region filter. */
		var regionIds = [];
		rows.forEach(function (r) {
			r.regions.forEach(function (id) { if (regionIds.indexOf(id) < 0) regionIds.push(id); });
		});
		var defsOrder = (e.regions || []).map(function (r) { return r.id; });
		regionIds.sort(function (a, b) { return defsOrder.indexOf(a) - defsOrder.indexOf(b); });
		var sel = $("district-filter");
		text($("district-filter-label"), T.t("filterRegion"));
		var key = T.lang + ":" + regionIds.join(",");
		if (sel.getAttribute("data-key") !== key) {
			clear(sel);
			var all = make("option", "", T.t("allRegions"));
			all.value = "";
			sel.appendChild(all);
			regionIds.forEach(function (id) {
				var o = make("option", "", T.nameOf(ctx.regionDefs[id] || {id: id}).text);
				o.value = id;
				o.setAttribute("translate", "no");
				sel.appendChild(o);
			});
			sel.setAttribute("data-key", key);
		}
		sel.value = ctx.filter || "";
		var shown = rows.filter(function (r) { return !ctx.filter || r.regions.indexOf(ctx.filter) >= 0; });

		var sort = ctx.sort("districts");
		var cols = [
			{key: "name", text: true, label: T.t("district"), get: function (r) { return T.nameOf(r.def).text; }},
			{key: "region", text: true, label: T.t("region"), cls: "region-col", get: function (r) {
				return r.regions.map(function (id) { return T.nameOf(ctx.regionDefs[id] || {id: id}).text; }).join(", ");
			}},
			{key: "leader", text: true, label: T.t("leader"), get: function (r) { return r.leader ? T.nameOf(r.leader).text : ""; }},
			{key: "margin", label: T.t("margin"), get: function (r) { return r.margin === null ? -1 : r.margin; }},
			{key: "reported", label: T.t("reported"), get: function (r) { return fraction(r.national); }},
			{key: "status", text: true, label: T.t("status"), get: function (r) { return T.t("ds_" + r.status); }},
		];
		text($("districts-caption"), T.t("districtsCaption"));
		sortableHead($("districts-head"), cols, sort, ctx.update);
		var sortSel = $("district-sort");
		text($("district-sort-label"), T.t("sortBy"));
		var skey = T.lang;
		if (sortSel.getAttribute("data-key") !== skey) {
			clear(sortSel);
			cols.forEach(function (c) {
				var o = make("option", "", c.label);
				o.value = c.key;
				sortSel.appendChild(o);
			});
			sortSel.setAttribute("data-key", skey);
		}
		sortSel.value = sort.key || "name";
		var sorted = sortRows(shown, cols, sort);
		var body = clear($("districts-body"));
		var list = clear($("districts-list"));
		sorted.forEach(function (r) {
			var link = function () {
				var a = make("a");
				a.href = ctx.link(r.contest.id);
				a.appendChild(T.nameEl(r.def));
				a.addEventListener("click", function (ev) {
					ev.preventDefault();
					ctx.choose(r.contest.id);
				});
				return a;
			};
			var tr = make("tr");
			tr.setAttribute("data-contest", r.contest.id);
			tr.setAttribute("data-district", r.def.id);
			var th = make("th");
			th.setAttribute("scope", "row");
			th.appendChild(link());
			var ri = make("span", "sub region-inline");
			r.regions.forEach(function (id, i) {
				if (i)
					ri.appendChild(document.createTextNode(", "));
				ri.appendChild(T.nameEl(ctx.regionDefs[id] || {id: id}));
			});
			th.appendChild(ri);
			tr.appendChild(th);
			var rc = make("td", "region-col");
			r.regions.forEach(function (id, i) {
				if (i)
					rc.appendChild(document.createTextNode(", "));
				rc.appendChild(T.nameEl(ctx.regionDefs[id] || {id: id}));
			});
			tr.appendChild(rc);
			var lc = make("td", "leader");
			lc.appendChild(leaderCell(r));
			tr.appendChild(lc);
			tr.appendChild(marginCell(r));
			tr.appendChild(make("td", "", T.num(r.national.precincts_reported) + " / " + T.num(r.national.precincts_total)));
			var st = make("td");
			st.appendChild(statusCell(r));
			tr.appendChild(st);
			body.appendChild(tr);

			/* The same row as a card, for phones. */
			var li = make("li", "dcard");
			li.setAttribute("data-contest", r.contest.id);
			var top = make("div", "dtop");
			var h = make("h3");
			h.appendChild(link());
			top.appendChild(h);
			top.appendChild(statusCell(r));
			li.appendChild(top);
			var p1 = make("p", "dleader");
			p1.appendChild(leaderCell(r));
			li.appendChild(p1);
			var p2 = make("p", "dmeta");
			var rn = make("span");
			r.regions.forEach(function (id, i) {
				if (i)
					rn.appendChild(document.createTextNode(", "));
				rn.appendChild(T.nameEl(ctx.regionDefs[id] || {id: id}));
			});
			p2.appendChild(rn);
			p2.appendChild(make("span", "", T.t("margin") + ": " + marginText(r)));
			p2.appendChild(make("span", "", T.t("reported") + ": " + T.num(r.national.precincts_reported) + " / " + T.num(r.national.precincts_total)));
			li.appendChild(p2);
			list.appendChild(li);
		});
		if (!sorted.length) {
			var none = make("tr");
			var td = make("td", "empty", T.t("noDistricts"));
			td.colSpan = cols.length;
			none.appendChild(td);
			body.appendChild(none);
			list.appendChild(make("li", "empty", T.t("noDistricts")));
		}

		/* The map: each region by the party leading most of its districts. */
		$("map-modes").hidden = true;
		var lead = {};
		rows.forEach(function (r) {
			r.regions.forEach(function (id) {
				lead[id] = lead[id] || {};
				if (r.leader) {
					var k = r.leader.party ? r.leader.party.id : r.leader.against ? "#against" : "#self:" + r.leader.id;
					lead[id][k] = lead[id][k] || {n: 0, o: r.leader};
					lead[id][k].n++;
				}
			});
		});
		var used = {};
		var paint = function (def) {
			if (!lead[def.id])
				return {fill: NODATA, what: T.t("noDistricts"), value: ""};
			var counts = lead[def.id];
			var best = null, tie = false;
			Object.keys(counts).forEach(function (k) {
				if (!best || counts[k].n > counts[best].n) {
					best = k;
					tie = false;
				} else if (counts[k].n === counts[best].n) {
					tie = true;
				}
			});
			if (!best)
				return {fill: NODATA, what: T.t("noDataYet"), value: ""};
			if (tie)
				return {fill: "#5d6b7c", what: T.t("legendMixed"), value: ""};
			var o = counts[best].o;
			var who = o.party ? o.party : o;
			used[best] = {color: o.color, who: who};
			return {fill: o.color, what: T.t("districtsLedBy", {name: T.nameOf(who).text}), value: ""};
		};
		var mapIds = (e.regions || []).map(function (r) { return r.id; });
		var without = false;
		mapIds.forEach(function (id) {
			if (ctx.regionDefs[id])
				paint(ctx.regionDefs[id]);
			if (!lead[id])
				without = true;
		});
		var legend = Object.keys(used).map(function (k) { return {color: used[k].color, label: T.nameEl(used[k].who)}; });
		if (without)
			legend.push({color: NODATA, label: T.t("legendNoDistricts"), cls: "nodata"});
		renderMap(ctx, mapIds, paint, legend, function (box, id) {
			var h = make("h3");
			h.appendChild(T.nameEl(ctx.regionDefs[id]));
			box.appendChild(h);
			var ul = make("ul", "region-districts");
			rows.filter(function (r) { return r.regions.indexOf(id) >= 0; }).forEach(function (r) {
				var li = make("li");
				li.appendChild(T.nameEl(r.def));
				li.appendChild(document.createTextNode(": "));
				li.appendChild(leaderCell(r));
				ul.appendChild(li);
			});
			box.appendChild(ul);
		});
	};
})();
