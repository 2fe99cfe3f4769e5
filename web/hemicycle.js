/*
 * hemicycle.js: the seat chart of a party list, drawn as SVG by the page
 * (no library). Seats sit on concentric half rings, as many per ring as its
 * length allows; they are taken left to right by angle, so each group of
 * seats (a party, in ballot order) forms one wedge of the half circle.
 *
 *   Tally.hemicycle(groups, {label, center, sub}) -> <svg>
 *   groups: [{id, color, seats, kind}], kind "" | "lot" | "vacant"
 */
"use strict";

(function () {
	var T = (window.Tally = window.Tally || {});
	var NS = "http://www.w3.org/2000/svg";

	function el(tag, attrs) {
		var e = document.createElementNS(NS, tag);
		for (var k in attrs)
			e.setAttribute(k, attrs[k]);
		return e;
	}

	/* Seats per ring in proportion to the rings' radii, summing to n. */
	function layout(n) {
		/* A small council fits on one ring; a parliament needs several. */
		var rows = n <= 16 ? 1 : Math.ceil(Math.sqrt(n / 5));
		var inner = rows === 1 ? 0.7 : rows === 2 ? 0.55 : 0.45;
		var radii = [];
		for (var i = 0; i < rows; i++)
			radii.push(rows === 1 ? 0.85 : inner + (1 - inner) * i / (rows - 1));
		var sum = radii.reduce(function (a, b) { return a + b; }, 0);
		var raw = radii.map(function (r) { return n * r / sum; });
		var per = raw.map(Math.floor);
		var rest = n - per.reduce(function (a, b) { return a + b; }, 0);
		var order = raw.map(function (r, i) { return i; })
		               .sort(function (a, b) { return (raw[b] - per[b]) - (raw[a] - per[a]) || b - a; });
		for (var k = 0; k < rest; k++)
			per[order[k]]++;
		var seats = [];
		var gapRow = rows > 1 ? (1 - inner) / (rows - 1) : 0.3;
		var size = gapRow;
		per.forEach(function (m, i) {
			var r = radii[i];
			if (m > 1)
				size = Math.min(size, Math.PI * r / (m - 1));
			for (var j = 0; j < m; j++) {
				var a = m === 1 ? Math.PI / 2 : Math.PI * (1 - j / (m - 1));
				seats.push({a: a, r: r});
			}
		});
		/* Left to right; on one angle, inner ring first. */
		seats.sort(function (x, y) { return y.a - x.a || x.r - y.r; });
		return {seats: seats, dot: Math.min(0.42 * size, 0.09)};
	}

	T.hemicycle = function (groups, opts) {
		var total = groups.reduce(function (a, g) { return a + g.seats; }, 0);
		var W = 200, H = 112, cx = 100, cy = 104, R = 94;
		var svg = el("svg", {viewBox: "0 0 " + W + " " + H, class: "hemicycle", role: "img"});
		svg.setAttribute("aria-label", opts.label);
		if (total > 0) {
			var lay = layout(total);
			var k = 0;
			groups.forEach(function (g) {
				var grp = el("g", {"data-party": g.id, class: "seats " + (g.kind || "")});
				for (var i = 0; i < g.seats; i++, k++) {
					var s = lay.seats[k];
					var c = el("circle", {
						cx: (cx + R * s.r * Math.cos(s.a)).toFixed(2),
						cy: (cy - R * s.r * Math.sin(s.a)).toFixed(2),
						r: (R * lay.dot).toFixed(2),
					});
					if (g.kind === "lot" || g.kind === "vacant") {
						c.setAttribute("fill", "none");
						c.setAttribute("stroke", g.kind === "lot" ? "#eef3f8" : "#8ea0b5");
						c.setAttribute("stroke-width", "1.2");
						if (g.kind === "lot")
							c.setAttribute("stroke-dasharray", "2 1.5");
					} else {
						c.setAttribute("fill", g.color);
					}
					grp.appendChild(c);
				}
				svg.appendChild(grp);
			});
		}
		var big = el("text", {x: cx, y: cy - 12, "text-anchor": "middle", class: "hc-total"});
		big.textContent = opts.center;
		svg.appendChild(big);
		var sub = el("text", {x: cx, y: cy + 4, "text-anchor": "middle", class: "hc-sub"});
		sub.textContent = opts.sub;
		svg.appendChild(sub);
		return svg;
	};
})();
