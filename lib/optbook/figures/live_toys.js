/* optbook's live toy widgets: the two-dimensional problems of the book, computed in the browser.
 *
 * The formulas are the library's (optbook.ill_conditioning.quadratic, optbook.saddle_points.saddles):
 *   quadratic  J(x) = 1/2 x^T H x, H = R(angle) diag(lambda_max / kappa, lambda_max) R(angle)^T
 *              gd        x <- x - eps H x
 *              momentum  x <- x - eps H x + beta (x - x_prev)          (Polyak's heavy ball)
 *              newton    x <- x - H^-1 H x                              (lands on 0 in one step)
 *   saddle     f(x) = x1^2 - x2^2, g = (2 x1, -2 x2), H = diag(2, -2)
 *              gradient descent     x <- x - eps g
 *              Newton               x <- x - eps H^-1 g = x - eps x
 *              saddle-free Newton   x <- x - eps (|H| + damping)^-1 g
 * A browser test compares `OptbookLive.quadraticPath` and `OptbookLive.saddlePath` with the library.
 * Nothing here throws on extreme settings: a diverging run is drawn until it leaves the window,
 * and the read-out says so.
 */
(function () {
  "use strict";
  if (window.OptbookLive) {
    window.OptbookLive.mountAll();
    return;
  }
  var BLOWUP = 1e6; // as saddles.run_method: |x| above this is a divergence

  function quadraticHessian(kappa, angle, lambdaMax) {
    var l1 = lambdaMax / kappa, l2 = lambdaMax, c = Math.cos(angle), s = Math.sin(angle);
    return [[c * c * l1 + s * s * l2, c * s * (l1 - l2)], [c * s * (l1 - l2), s * s * l1 + c * c * l2]];
  }
  function matvec(h, x) { return [h[0][0] * x[0] + h[0][1] * x[1], h[1][0] * x[0] + h[1][1] * x[1]]; }
  function solve(h, b) {
    var det = h[0][0] * h[1][1] - h[0][1] * h[1][0];
    return [(h[1][1] * b[0] - h[0][1] * b[1]) / det, (h[0][0] * b[1] - h[1][0] * b[0]) / det];
  }
  function quadraticCost(h, x) { var hx = matvec(h, x); return 0.5 * (x[0] * hx[0] + x[1] * hx[1]); }
  function tunedMomentum(kappa, lambdaMax) {
    var a = Math.sqrt(lambdaMax), b = Math.sqrt(lambdaMax / kappa), r = (Math.sqrt(kappa) - 1) / (Math.sqrt(kappa) + 1);
    return { lr: 4 / ((a + b) * (a + b)), momentum: r * r };
  }

  /* The path of `method` on the quadratic: {path: [[x1, x2], ...], cost: [...]} (steps + 1 points). */
  function quadraticPath(o) {
    var h = quadraticHessian(o.kappa, o.angle || 0, o.lambdaMax || 1);
    var x = [o.x0[0], o.x0[1]], prev = [x[0], x[1]], path = [[x[0], x[1]]], cost = [quadraticCost(h, x)];
    for (var t = 0; t < o.steps; t++) {
      var hx = matvec(h, x), next;
      if (o.method === "newton") {
        var d = solve(h, hx);
        next = [x[0] - d[0], x[1] - d[1]];
      } else {
        var beta = o.method === "momentum" ? o.momentum : 0;
        next = [x[0] - o.lr * hx[0] + beta * (x[0] - prev[0]), x[1] - o.lr * hx[1] + beta * (x[1] - prev[1])];
      }
      prev = x; x = next;
      path.push([x[0], x[1]]); cost.push(quadraticCost(h, x));
    }
    return { path: path, cost: cost, hessian: h };
  }

  /* What theory says: the spectral radius of the iteration on the eigen-directions. */
  function quadraticRadius(o) {
    if (o.method === "newton") return 0;
    var lambdaMax = o.lambdaMax || 1, eig = [lambdaMax / o.kappa, lambdaMax], worst = 0;
    for (var i = 0; i < 2; i++) {
      var a = 1 - o.lr * eig[i];
      if (o.method !== "momentum") { worst = Math.max(worst, Math.abs(a)); continue; }
      var b = o.momentum, tr = a + b, disc = tr * tr - 4 * b; // z^2 - (1 + b - eps l) z + b = 0
      var r = disc >= 0 ? Math.max(Math.abs((tr + Math.sqrt(disc)) / 2), Math.abs((tr - Math.sqrt(disc)) / 2)) : Math.sqrt(b);
      worst = Math.max(worst, r);
    }
    return worst;
  }

  /* The runs of `method` on x1^2 - x2^2 from each start: {paths, costs, divergedAt} (-1: never). */
  function saddlePath(o) {
    var rng = mulberry32(o.seed || 0), paths = [], costs = [], divergedAt = [];
    for (var r = 0; r < o.starts.length; r++) {
      var x = [o.starts[r][0], o.starts[r][1]], path = [[x[0], x[1]]], cost = [x[0] * x[0] - x[1] * x[1]], dead = -1;
      for (var t = 1; t <= o.steps; t++) {
        var d;
        if (o.method === "Newton") d = [x[0], x[1]];
        else if (o.method === "saddle-free Newton") d = [2 * x[0] / (2 + (o.damping || 0)), -2 * x[1] / (2 + (o.damping || 0))];
        else d = [2 * x[0], -2 * x[1]];
        x = [x[0] - o.lr * d[0], x[1] - o.lr * d[1]];
        if (o.noise > 0) { x[0] += o.noise * gauss(rng); x[1] += o.noise * gauss(rng); }
        var f = x[0] * x[0] - x[1] * x[1];
        if (dead < 0 && (!isFinite(f) || Math.max(Math.abs(x[0]), Math.abs(x[1])) > BLOWUP)) dead = t;
        if (dead >= 0) { x = [NaN, NaN]; f = NaN; }
        path.push([x[0], x[1]]); cost.push(f);
      }
      paths.push(path); costs.push(cost); divergedAt.push(dead);
    }
    return { paths: paths, costs: costs, divergedAt: divergedAt };
  }
  function mulberry32(a) {
    return function () {
      a |= 0; a = (a + 0x6D2B79F5) | 0;
      var t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  function gauss(rng) { var u = 1 - rng(), v = rng(); return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v); }

  /* ---------------------------------------------------------------- drawing */
  var COLORS = ["#1f77b4", "#d62728", "#2ca02c"];
  function fmt(v) {
    if (!isFinite(v)) return String(v);
    var a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e4)) return v.toExponential(2);
    return String(Number(v.toPrecision(a >= 100 ? 4 : 3)));
  }
  function canvasFor(el, aspect) {
    var ratio = window.devicePixelRatio || 1, width = Math.max(200, el.clientWidth || 320);
    var height = Math.round(width * aspect);
    el.width = Math.round(width * ratio); el.height = Math.round(height * ratio);
    el.style.height = height + "px";
    var ctx = el.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    return { ctx: ctx, w: width, h: height };
  }
  function textColor(el) { return window.getComputedStyle(el).color || "#222"; }
  function frame(c, color, box, margin) {
    var m = margin || 36, sx = (c.w - m - 8) / (box[1] - box[0]), sy = (c.h - m - 8) / (box[3] - box[2]);
    var X = function (v) { return m + (v - box[0]) * sx; }, Y = function (v) { return c.h - m + (box[2] - v) * sy; };
    c.ctx.strokeStyle = color; c.ctx.fillStyle = color; c.ctx.lineWidth = 1;
    c.ctx.strokeRect(m, 8, c.w - m - 8, c.h - m - 8);
    c.ctx.font = "13px sans-serif";
    return { X: X, Y: Y, m: m };
  }
  function clip(c, f) { c.ctx.save(); c.ctx.beginPath(); c.ctx.rect(f.m, 8, c.w - f.m - 8, c.h - f.m - 8); c.ctx.clip(); }
  function polyline(c, f, pts, color, width) {
    var ctx = c.ctx, started = false;
    ctx.strokeStyle = color; ctx.lineWidth = width; ctx.beginPath();
    for (var i = 0; i < pts.length; i++) {
      var p = pts[i];
      if (!isFinite(p[0]) || !isFinite(p[1]) || Math.abs(p[0]) > 1e8 || Math.abs(p[1]) > 1e8) break;
      if (!started) { ctx.moveTo(f.X(p[0]), f.Y(p[1])); started = true; } else ctx.lineTo(f.X(p[0]), f.Y(p[1]));
    }
    ctx.stroke();
    ctx.fillStyle = color;
    for (var j = 0; j < pts.length && j < 400; j++) {
      var q = pts[j];
      if (!isFinite(q[0]) || !isFinite(q[1]) || Math.abs(q[0]) > 1e8 || Math.abs(q[1]) > 1e8) break;
      ctx.beginPath(); ctx.arc(f.X(q[0]), f.Y(q[1]), j === 0 ? 4 : 2, 0, 2 * Math.PI); ctx.fill();
    }
  }
  function ticks(c, f, box, color, xlabel, ylabel, ylog) {
    var ctx = c.ctx; ctx.fillStyle = color; ctx.font = "13px sans-serif";
    ctx.textAlign = "center"; ctx.fillText(xlabel, (f.m + c.w - 8) / 2, c.h - 6);
    ctx.fillText(fmt(box[0]), f.X(box[0]) + 10, c.h - f.m + 15); ctx.fillText(fmt(box[1]), f.X(box[1]) - 14, c.h - f.m + 15);
    ctx.save(); ctx.translate(12, (c.h - f.m + 8) / 2); ctx.rotate(-Math.PI / 2); ctx.fillText(ylabel, 0, 0); ctx.restore();
    ctx.textAlign = "right";
    var lo = ylog ? "1e" + Math.round(box[2]) : fmt(box[2]), hi = ylog ? "1e" + Math.round(box[3]) : fmt(box[3]);
    ctx.fillText(lo, f.m - 3, f.Y(box[2])); ctx.fillText(hi, f.m - 3, f.Y(box[3]) + 12);
    ctx.textAlign = "left";
  }

  function drawCostCurve(canvas, series, log, label) {
    var c = canvasFor(canvas, 0.62), color = textColor(canvas), lo = Infinity, hi = -Infinity, n = 1;
    series.forEach(function (s) {
      n = Math.max(n, s.values.length - 1);
      s.values.forEach(function (v) {
        var y = log ? Math.log10(Math.max(v, 1e-300)) : v;
        if (isFinite(y) && Math.abs(v) < 1e12) { lo = Math.min(lo, y); hi = Math.max(hi, y); }
      });
    });
    if (!isFinite(lo)) { lo = 0; hi = 1; }
    if (log) { lo = Math.floor(Math.max(lo, -32)); hi = Math.ceil(hi); }
    if (hi - lo < 1e-9) { hi = lo + 1; }
    var box = [0, n, lo, hi], f = frame(c, color, box, 44);
    ticks(c, f, box, color, "step", label, log);
    clip(c, f);
    series.forEach(function (s) {
      var pts = s.values.map(function (v, i) { return [i, log ? Math.log10(Math.max(v, 1e-300)) : v]; });
      polyline(c, f, pts.map(function (p) { return [p[0], Math.max(Math.min(p[1], hi + 1), lo - 1)]; }), s.color, 1.5);
    });
    c.ctx.restore();
  }

  function drawQuadraticPlane(canvas, run, box) {
    var c = canvasFor(canvas, 0.8), color = textColor(canvas), f = frame(c, color, box, 36), h = run.hessian;
    ticks(c, f, box, color, "x\u2081", "x\u2082", false);
    clip(c, f);
    // level sets 1/2 x^T H x = level, as ellipses in the eigenbasis of H
    var a = h[0][0], b = h[0][1], d = h[1][1], mid = (a + d) / 2, rad = Math.sqrt(((a - d) / 2) * ((a - d) / 2) + b * b);
    var l1 = mid - rad, l2 = mid + rad, theta = 0.5 * Math.atan2(2 * b, a - d) + Math.PI / 2; // l1's eigenvector angle
    var top = Math.max(1e-12, run.cost[0]);
    c.ctx.lineWidth = 1;
    for (var k = 0; k < 9; k++) {
      var level = top * Math.pow(0.35, k), r1 = Math.sqrt(2 * level / l1), r2 = Math.sqrt(2 * level / l2);
      c.ctx.strokeStyle = "rgba(128,128,128," + (0.75 - 0.06 * k) + ")";
      c.ctx.beginPath();
      for (var i = 0; i <= 160; i++) {
        var phi = 2 * Math.PI * i / 160, u = r1 * Math.cos(phi), v = r2 * Math.sin(phi);
        var x = Math.cos(theta) * u - Math.sin(theta) * v, y = Math.sin(theta) * u + Math.cos(theta) * v;
        if (i === 0) c.ctx.moveTo(f.X(x), f.Y(y)); else c.ctx.lineTo(f.X(x), f.Y(y));
      }
      c.ctx.stroke();
    }
    polyline(c, f, run.path, COLORS[0], 1.6);
    c.ctx.fillStyle = color; c.ctx.font = "bold 16px sans-serif"; c.ctx.fillText("\u00d7", f.X(0) - 5, f.Y(0) + 5);
    c.ctx.restore();
  }

  function drawSaddlePlane(canvas, runs, box) {
    var c = canvasFor(canvas, 0.8), color = textColor(canvas), f = frame(c, color, box, 36);
    ticks(c, f, box, color, "x\u2081", "x\u2082", false);
    clip(c, f);
    var levels = [-3, -2, -1, -0.4, 0, 0.4, 1, 2, 3];
    levels.forEach(function (level) {
      c.ctx.strokeStyle = level > 0 ? "rgba(31,119,180,0.55)" : level < 0 ? "rgba(214,39,40,0.55)" : "rgba(128,128,128,0.8)";
      c.ctx.lineWidth = 1;
      for (var sign = -1; sign <= 1; sign += 2) {
        c.ctx.beginPath();
        for (var i = 0; i <= 120; i++) {
          var t = -3 + 6 * i / 120, x, y;
          if (level > 0) { x = sign * Math.sqrt(level) * Math.cosh(t); y = Math.sqrt(level) * Math.sinh(t); }
          else if (level < 0) { y = sign * Math.sqrt(-level) * Math.cosh(t); x = Math.sqrt(-level) * Math.sinh(t); }
          else { x = t; y = sign * t; }
          if (i === 0) c.ctx.moveTo(f.X(x), f.Y(y)); else c.ctx.lineTo(f.X(x), f.Y(y));
        }
        c.ctx.stroke();
      }
    });
    runs.paths.forEach(function (p, r) { polyline(c, f, p, COLORS[r % COLORS.length], 1.6); });
    c.ctx.fillStyle = color; c.ctx.font = "bold 16px sans-serif"; c.ctx.fillText("\u00d7", f.X(0) - 5, f.Y(0) + 5);
    c.ctx.restore();
  }

  /* ---------------------------------------------------------------- controls */
  function slider(root, spec, onChange) {
    var label = document.createElement("label"), name = document.createElement("span"), input = document.createElement("input");
    var shown = document.createElement("output");
    label.className = "optbook-live-control"; name.textContent = spec.label + ": ";
    input.type = "range"; input.min = 0; input.max = 1000; input.step = 1;
    var toValue = function (u) {
      if (spec.zeroAtMin && u === 0) return 0;
      var s = u / 1000;
      var v = spec.log ? Math.pow(10, Math.log10(spec.min) + s * (Math.log10(spec.max) - Math.log10(spec.min))) : spec.min + s * (spec.max - spec.min);
      return spec.integer ? Math.round(v) : v;
    };
    var fromValue = function (v) {
      if (spec.zeroAtMin && v === 0) return 0;
      var s = spec.log ? (Math.log10(v) - Math.log10(spec.min)) / (Math.log10(spec.max) - Math.log10(spec.min)) : (v - spec.min) / (spec.max - spec.min);
      return Math.round(1000 * Math.min(1, Math.max(0, s)));
    };
    input.value = fromValue(spec.value);
    input.setAttribute("data-name", spec.name);
    var current = spec.value;  // the exact starting value, until the slider moves (its grid is 1000 steps)
    var show = function (v) {
      shown.textContent = fmt(v); input.setAttribute("aria-valuetext", spec.label + " " + fmt(v));
    };
    input.addEventListener("input", function () {
      current = toValue(Number(input.value)); show(current); onChange(spec.name, current);
    });
    show(current);
    name.appendChild(shown); label.appendChild(name); label.appendChild(input); root.appendChild(label);
    return { name: spec.name, value: function () { return current; },
      set: function (v) { current = v; input.value = fromValue(v); show(v); onChange(spec.name, v); } };
  }
  function choice(root, spec, onChange) {
    var label = document.createElement("label"), name = document.createElement("span"), select = document.createElement("select");
    label.className = "optbook-live-control"; name.textContent = spec.label;
    spec.options.forEach(function (o, i) {
      var opt = document.createElement("option"); opt.value = o; opt.textContent = spec.names ? spec.names[i] : o; select.appendChild(opt);
    });
    select.value = spec.value; select.setAttribute("data-name", spec.name);
    select.addEventListener("change", function () { onChange(spec.name, select.value); });
    label.appendChild(name); label.appendChild(select); root.appendChild(label);
    return { name: spec.name, value: function () { return select.value; }, set: function (v) { select.value = v; onChange(spec.name, v); } };
  }

  function build(root, specs, draw) {
    var controls = document.createElement("div"), panels = document.createElement("div"), readout = document.createElement("p");
    controls.className = "optbook-live-controls"; panels.className = "optbook-live-panels"; readout.className = "optbook-live-readout";
    readout.setAttribute("aria-live", "polite");
    var left = document.createElement("canvas"), right = document.createElement("canvas");
    left.setAttribute("role", "img"); right.setAttribute("role", "img");
    panels.appendChild(left); panels.appendChild(right);
    root.innerHTML = ""; root.appendChild(controls); root.appendChild(panels); root.appendChild(readout);
    var state = {}, widgets = {};
    var redraw = function () {
      try { draw(state, left, right, readout); }
      catch (err) { readout.textContent = "This setting could not be drawn (" + err.message + ")."; }
    };
    var ready = false;
    var onChange = function (name, value) { state[name] = value; if (ready) redraw(); };
    specs.forEach(function (spec) {
      var w = spec.options ? choice(controls, spec, onChange) : slider(controls, spec, onChange);
      widgets[spec.name] = w; state[spec.name] = w.value();
    });
    ready = true;
    redraw();
    var resize = null;
    window.addEventListener("resize", function () { clearTimeout(resize); resize = setTimeout(redraw, 150); });
    root.optbook = { state: state, set: function (name, v) { widgets[name].set(v); }, redraw: redraw };
  }

  /* ---------------------------------------------------------------- the two toys */
  function quadraticToy(root, cfg) {
    var specs = [
      { name: "method", label: "method", options: ["gd", "momentum", "tuned", "newton"],
        names: ["gradient descent", "heavy-ball momentum (\u03b2 below)", "heavy-ball momentum, Polyak's tuned \u03b2", "Newton"], value: cfg.method },
      { name: "kappa", label: "condition number \u03ba", min: 1, max: 1000, log: true, value: cfg.kappa },
      { name: "lr", label: "step \u03b5", min: 0.001, max: 3, log: true, value: cfg.lr },
      { name: "momentum", label: "momentum \u03b2", min: 0, max: 0.99, value: cfg.momentum },
      { name: "start", label: "start angle (degrees)", min: 0, max: 90, value: cfg.start },
      { name: "steps", label: "steps", min: 1, max: 300, integer: true, value: cfg.steps },
    ];
    build(root, specs, function (s, left, right, readout) {
      var tuned = tunedMomentum(s.kappa, 1), method = s.method === "tuned" ? "momentum" : s.method;
      var beta = s.method === "tuned" ? tuned.momentum : s.momentum, phi = s.start * Math.PI / 180;
      var o = { kappa: s.kappa, angle: cfg.angle, method: method, lr: s.lr, momentum: beta, x0: [Math.cos(phi), Math.sin(phi)], steps: s.steps };
      var run = quadraticPath(o), radius = quadraticRadius(o), last = run.path[run.path.length - 1];
      var dist = Math.hypot(last[0], last[1]), best = 2 / (1 / s.kappa + 1);
      drawQuadraticPlane(left, run, [-1.25, 1.25, -1.25, 1.25]);
      drawCostCurve(right, [{ values: run.cost, color: COLORS[0] }], true, "cost (log10)");
      var text;
      if (s.method === "newton") text = "Newton: one step lands on the minimum for any \u03ba (the step uses H\u207b\u00b9).";
      else if (radius >= 1) text = "Diverges: the iteration's spectral radius is " + fmt(radius) + " \u2265 1 (" +
        (method === "gd" ? "\u03b5 > 2/\u03bb_max = 2" : "\u03b5\u03bb_max > 2(1 + \u03b2) with \u03b2 = " + fmt(beta)) + ").";
      else text = "Converges: the distance to the minimum shrinks by " + fmt(radius) + " per step in the long run (theory" +
        (method === "momentum" ? ", \u03b2 = " + fmt(beta) : "") + "); after " + s.steps + " steps it is " + fmt(dist) +
        " and the cost went from " + fmt(run.cost[0]) + " to " + fmt(run.cost[run.cost.length - 1]) + ".";
      readout.textContent = text + " Best fixed step 2/(\u03bb_min + \u03bb_max) = " + fmt(best) + "; tuned momentum: \u03b5 = " +
        fmt(tuned.lr) + ", \u03b2 = " + fmt(tuned.momentum) + ".";
      left.setAttribute("aria-label", "Path of " + s.method + " on the quadratic with condition number " + fmt(s.kappa) + ". " + text);
      right.setAttribute("aria-label", "Cost against step on a log scale: from " + fmt(run.cost[0]) + " to " + fmt(run.cost[run.cost.length - 1]) + ".");
    });
  }

  function saddleToy(root, cfg) {
    var specs = [
      { name: "method", label: "method", options: ["gradient descent", "Newton", "saddle-free Newton"], value: cfg.method },
      { name: "lr", label: "step \u03b5", min: 0.01, max: 1.5, log: true, value: cfg.lr },
      { name: "start_x2", label: "start x\u2082 (distance from the ridge; far left: exactly 0)", min: 1e-9, max: 1, log: true, zeroAtMin: true, value: cfg.start_x2 },
      { name: "noise", label: "noise per step", min: 0, max: 0.1, value: cfg.noise },
      { name: "steps", label: "steps", min: 1, max: 150, integer: true, value: cfg.steps },
    ];
    build(root, specs, function (s, left, right, readout) {
      var starts = [[1.5, s.start_x2], [-1.2, -0.5 * s.start_x2]];
      var runs = saddlePath({ method: s.method, lr: s.lr, starts: starts, steps: s.steps, noise: s.noise, seed: 0 });
      drawSaddlePlane(left, runs, [-2, 2, -2, 2]);
      drawCostCurve(right, runs.costs.map(function (v, r) { return { values: v, color: COLORS[r] }; }), false, "cost x\u2081\u00b2 \u2212 x\u2082\u00b2");
      var ends = runs.paths.map(function (p) { return p[p.length - 1]; }), words = [];
      runs.divergedAt.forEach(function (k, r) {
        var e = ends[r], dist = Math.hypot(e[0], e[1]);
        if (k >= 0) words.push("run " + (r + 1) + " diverged at step " + k);
        else if (dist > 1.99) words.push("run " + (r + 1) + " left the saddle (distance " + fmt(dist) + ")");
        else words.push("run " + (r + 1) + " ends " + fmt(dist) + " from the saddle, cost " + fmt(runs.costs[r][runs.costs[r].length - 1]));
      });
      var note = s.method === "gradient descent" && s.lr > 1 ? " The step exceeds 2/\u03bb_max = 1: gradient descent diverges along x\u2081." :
        s.method === "Newton" ? " Newton's step points at the saddle (it is a critical point of the quadratic model)." : "";
      readout.textContent = words.join("; ") + "." + note;
      left.setAttribute("aria-label", s.method + " on x1\u00b2 \u2212 x2\u00b2 from two starts: " + words.join("; ") + ".");
      right.setAttribute("aria-label", "Cost against step of the two runs.");
    });
  }

  var TOYS = { quadratic: quadraticToy, saddle: saddleToy };
  function mountAll() {
    document.querySelectorAll(".optbook-live[data-toy]").forEach(function (root) {
      if (root.getAttribute("data-mounted")) return;
      root.setAttribute("data-mounted", "1");
      var cfg = JSON.parse(root.getAttribute("data-config") || "{}"), toy = TOYS[root.getAttribute("data-toy")];
      if (toy) toy(root, cfg);
    });
  }
  window.OptbookLive = { quadraticPath: quadraticPath, quadraticRadius: quadraticRadius, quadraticHessian: quadraticHessian,
    saddlePath: saddlePath, tunedMomentum: tunedMomentum, mountAll: mountAll };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mountAll);
  else mountAll();
})();
