/*
 * map.js: the regions as a schematic tile map, one square per region at
 * the "tile": [column, row] the definition gives it (no geodata, nothing
 * fetched), drawn as SVG. The map is one stop in the tab order: arrow keys
 * move between tiles by where they lie, Enter or Space chooses one (as a
 * click does). It is built once per set of regions and then updated in
 * place, so a live update never takes the focus away.
 *
 *   var m = new Tally.TileMap(host, onChoose)
 *   m.update([{id, col, row, label, abbr, fill, ink, title, pressed}])
 */
"use strict";

(function () {
	var T = (window.Tally = window.Tally || {});
	var NS = "http://www.w3.org/2000/svg";
	var CELL = 100, GAP = 6;

	function el(tag, attrs) {
		var e = document.createElementNS(NS, tag);
		for (var k in attrs)
			e.setAttribute(k, attrs[k]);
		return e;
	}

	/* Splits a name into at most three lines of about `width` characters. */
	function lines(text, width) {
		var words = text.replace(/-/g, "-\u0001").split(/[ \u0001]/).filter(Boolean);
		var out = [];
		words.forEach(function (w) {
			var last = out.length ? out[out.length - 1] : null;
			var glue = last && last.slice(-1) === "-" ? "" : " ";
			if (last !== null && (last + glue + w).length <= width)
				out[out.length - 1] = last + glue + w;
			else
				out.push(w);
		});
		if (out.length > 3)
			out = out.slice(0, 2).concat([out.slice(2).join(" ")]);
		return out;
	}

	function TileMap(host, onChoose) {
		this.host = host;
		this.onChoose = onChoose;
		this.key = "";
		this.tiles = {};
		this.order = [];
		this.current = null;
		this.compact = null;
	}

	TileMap.prototype.build = function (items) {
		var self = this;
		var cols = 0, rows = 0;
		items.forEach(function (it) {
			cols = Math.max(cols, it.col + 1);
			rows = Math.max(rows, it.row + 1);
		});
		var svg = el("svg", {viewBox: "0 0 " + (cols * CELL) + " " + (rows * CELL),
		                     class: "tilemap", role: "group"});
		svg.setAttribute("aria-label", this.host.getAttribute("data-label") || "");
		this.tiles = {};
		this.order = items.map(function (it) { return it.id; });
		items.forEach(function (it, i) {
			var g = el("g", {class: "tile", role: "button", tabindex: i === 0 ? "0" : "-1",
			                 "data-region": it.id,
			                 transform: "translate(" + (it.col * CELL) + " " + (it.row * CELL) + ")"});
			var rect = el("rect", {x: GAP / 2, y: GAP / 2, width: CELL - GAP, height: CELL - GAP,
			                       rx: 8});
			var text = el("text", {x: CELL / 2, y: CELL / 2, "text-anchor": "middle",
			                       "aria-hidden": "true"});
			var val = el("text", {x: CELL / 2, y: CELL - 14, "text-anchor": "middle",
			                      class: "tile-value", "aria-hidden": "true"});
			g.appendChild(rect);
			g.appendChild(text);
			g.appendChild(val);
			g.addEventListener("click", function () {
				self.focus(it.id);
				self.onChoose(it.id);
			});
			g.addEventListener("keydown", function (ev) { self.key_(ev, it.id); });
			self.tiles[it.id] = {g: g, rect: rect, text: text, val: val, col: it.col, row: it.row};
			svg.appendChild(g);
		});
		while (this.host.firstChild)
			this.host.removeChild(this.host.firstChild);
		this.host.appendChild(svg);
		this.svg = svg;
		this.current = this.order[0];
	};

	TileMap.prototype.key_ = function (ev, id) {
		var dirs = {ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1]};
		if (ev.key === "Enter" || ev.key === " ") {
			ev.preventDefault();
			this.onChoose(id);
			return;
		}
		var d = dirs[ev.key];
		if (!d)
			return;
		ev.preventDefault();
		/* The nearest tile in that direction, weighing sideways distance double. */
		var from = this.tiles[id], best = null, bestScore = Infinity;
		for (var k in this.tiles) {
			var t = this.tiles[k];
			var dx = t.col - from.col, dy = t.row - from.row;
			var along = dx * d[0] + dy * d[1];
			if (along <= 0)
				continue;
			var side = Math.abs(dx * d[1]) + Math.abs(dy * d[0]);
			var score = along + 2 * side;
			if (score < bestScore) {
				bestScore = score;
				best = k;
			}
		}
		if (best)
			this.focus(best, true);
	};

	TileMap.prototype.focus = function (id, move) {
		if (!this.tiles[id])
			return;
		if (this.current && this.tiles[this.current])
			this.tiles[this.current].g.setAttribute("tabindex", "-1");
		this.tiles[id].g.setAttribute("tabindex", "0");
		this.current = id;
		if (move)
			this.tiles[id].g.focus();
	};

	TileMap.prototype.update = function (items) {
		var key = items.map(function (it) { return it.id + "@" + it.col + "," + it.row; }).join(" ");
		if (key !== this.key) {
			this.build(items);
			this.key = key;
		}
		/* Below ~70 px a tile cannot hold a name: show the short form, larger. */
		var px = this.svg.getBoundingClientRect().width / (this.svg.viewBox.baseVal.width / CELL);
		var compact = px > 0 && px < 70;
		var self = this;
		items.forEach(function (it) {
			var t = self.tiles[it.id];
			t.rect.setAttribute("fill", it.fill);
			t.g.setAttribute("aria-label", it.title);
			t.g.setAttribute("aria-pressed", it.pressed ? "true" : "false");
			t.g.classList.toggle("chosen", !!it.pressed);
			t.g.style.setProperty("--ink", it.ink);
			var ls = compact ? [it.abbr] : lines(it.label, 12);
			var longest = Math.max.apply(null, ls.map(function (l) { return l.length; }));
			var size = compact ? 30 : Math.min(16, Math.floor(86 / (0.66 * longest)));
			var sig = ls.join("|") + size;
			if (t.sig !== sig) {
				while (t.text.firstChild)
					t.text.removeChild(t.text.firstChild);
				var top = (compact ? 54 : 44) - (ls.length - 1) * size * 0.55;
				ls.forEach(function (l, i) {
					var span = el("tspan", {x: CELL / 2, y: (top + i * size * 1.1).toFixed(1)});
					span.textContent = l;
					t.text.appendChild(span);
				});
				t.text.setAttribute("font-size", size);
				t.sig = sig;
			}
			t.val.textContent = compact ? "" : it.value || "";
		});
	};

	T.TileMap = TileMap;
	T.tileLines = lines;
})();
