/*
 * trend.js: the night's trend of one contest as a small SVG line chart:
 * precincts reported (dashed) and the leading options' shares, in percent,
 * against the time of each point of /v1/contests/{id}/trend. The caller
 * gives the series and the words; the chart is an image whose text
 * alternative is the summary sentence printed beside it.
 *
 *   Tally.trendChart({times, series: [{values, color, dashed}], ticks, label}) -> <svg>
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

	T.trendChart = function (o) {
		var W = 600, H = 230, L = 44, R = 12, TOP = 10, B = 30;
		var svg = el("svg", {viewBox: "0 0 " + W + " " + H, class: "trend-chart", role: "img"});
		svg.setAttribute("aria-label", o.label);
		var t0 = o.times[0], t1 = o.times[o.times.length - 1];
		var span = Math.max(1, t1 - t0);
		function x(t) {
			return L + (W - L - R) * (t - t0) / span;
		}
		function y(p) {
			return TOP + (H - TOP - B) * (1 - Math.max(0, Math.min(100, p)) / 100);
		}
		[0, 25, 50, 75, 100].forEach(function (p) {
			svg.appendChild(el("line", {x1: L, x2: W - R, y1: y(p), y2: y(p), class: "grid"}));
			var lab = el("text", {x: L - 6, y: y(p) + 4, "text-anchor": "end", class: "axis"});
			lab.textContent = o.pctLabel(p);
			svg.appendChild(lab);
		});
		var n = Math.min(5, o.times.length);
		for (var i = 0; i < n; i++) {
			var t = n === 1 ? t0 : t0 + span * i / (n - 1);
			var tl = el("text", {x: x(t), y: H - 8, "text-anchor": i === 0 ? "start" : i === n - 1 ? "end" : "middle",
			                     class: "axis"});
			tl.textContent = o.timeLabel(t);
			svg.appendChild(tl);
		}
		o.series.forEach(function (s) {
			var d = "";
			s.values.forEach(function (v, k) {
				if (typeof v !== "number" || !isFinite(v))
					return;
				d += (d ? " L" : "M") + x(o.times[k]).toFixed(1) + " " + y(v).toFixed(1);
			});
			if (!d)
				return;
			var path = el("path", {d: d, fill: "none", stroke: s.color, "stroke-width": s.dashed ? 2 : 3,
			                       "stroke-linejoin": "round", class: "series"});
			if (s.dashed)
				path.setAttribute("stroke-dasharray", "6 4");
			svg.appendChild(path);
		});
		return svg;
	};
})();
