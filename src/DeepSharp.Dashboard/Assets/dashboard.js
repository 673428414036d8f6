// The DeepSharp dashboard page: draws a training run's events (DashboardHub) with uPlot. Live, it reads them from the
// server-sent events at /events; as a static report, from window.DASHBOARD_EVENTS inlined in the page.
(function () {
  "use strict";
  const palette = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777", "#4b5563", "#65a30d"];
  const charts = {};          // id -> { plot, signature }
  let S, frame = 0;

  function reset() {
    S = { run: null, series: {}, last: null, confusion: null, samples: null, grids: {}, notes: [], ended: null };
    document.getElementById("notes").textContent = "";
  }

  function addPoint(chart, name, x, y) {
    if (y === null || y === undefined || !isFinite(y)) return;
    const c = S.series[chart] || (S.series[chart] = {});
    (c[name] || (c[name] = new Map())).set(x, y);
  }

  const isLoss = key => /loss/i.test(key);
  const skipped = key => key === "lr" || key === "examples_per_second";

  function handle(e) {
    switch (e.type) {
      case "reset": reset(); break;
      case "run": S.run = e; break;
      case "batch":
        S.last = e;
        for (const [k, v] of Object.entries(e.logs)) {
          if (k === "lr") addPoint("lr", "lr", e.step, v);
          else if (k === "examples_per_second") addPoint("throughput", "examples/s", e.step, v);
          else addPoint(isLoss(k) ? "loss" : "metrics", "train " + k, e.step, v);
        }
        break;
      case "epoch":
        S.epoch = e;
        for (const [k, v] of Object.entries(e.logs))
          if (k.startsWith("val_")) addPoint(isLoss(k) ? "loss" : "metrics", "val " + k.slice(4), e.step, v);
        break;
      case "grads":
        for (const [k, v] of Object.entries(e.norms)) addPoint("grads", k, e.step, v > 0 ? v : null);
        break;
      case "episode":
        addPoint("episodes", "return", e.step, e.return);
        addPoint("episodes", "mean return", e.step, e.mean);
        break;
      case "confusion": S.confusion = e; break;
      case "samples": S.samples = e; break;
      case "grid": S.grids[e.title] = e; break;
      case "note": S.notes.push(e.text); break;
      case "end": S.ended = e; break;
    }
  }

  function schedule() { if (!frame) frame = requestAnimationFrame(() => { frame = 0; render(); }); }

  function chartData(id) {
    const c = S.series[id] || {};
    const names = Object.keys(c);
    const xs = Array.from(new Set(names.flatMap(n => Array.from(c[n].keys())))).sort((a, b) => a - b);
    return { names, data: [xs, ...names.map(n => xs.map(x => c[n].has(x) ? c[n].get(x) : null))] };
  }

  function drawChart(id, log) {
    const { names, data } = chartData(id);
    const panel = document.getElementById("panel-" + id);
    if (names.length === 0) return;
    panel.hidden = false;
    const el = document.getElementById("chart-" + id);
    const signature = names.join("\u0001");
    let entry = charts[id];
    if (entry && entry.signature !== signature) { entry.plot.destroy(); entry = null; }
    if (!entry) {
      const opts = {
        width: Math.max(300, el.clientWidth), height: 240,
        scales: { x: { time: false }, y: log ? { distr: 3 } : {} },
        axes: [{ label: id === "episodes" ? "environment step" : "step" },
               { size: 64, values: (u, ticks) => ticks.map(v => v === null ? "" : Math.abs(v) >= 1e4 || Math.abs(v) < 1e-2 && v !== 0 ? v.toExponential(1) : +v.toPrecision(3)) }],
        series: [{ label: "step" }, ...names.map((n, i) => ({
          label: n, stroke: palette[i % palette.length], width: 1.5, spanGaps: true,
          points: { show: n.startsWith("val ") || id === "episodes" && n === "return", size: 5 },
        }))],
        legend: { live: true },
      };
      entry = charts[id] = { plot: new uPlot(opts, data, el), signature };
    } else entry.plot.setData(data);
  }

  const fmt = (v, digits) => v === null || v === undefined ? "–" : Number(v).toPrecision(digits);
  function duration(s) {
    if (s === null || s === undefined) return "–";
    s = Math.round(s);
    const h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60), r = s % 60;
    return (h ? h + "h " : "") + (h || m ? m + "m " : "") + r + "s";
  }

  function renderStats() {
    const b = S.last;
    if (S.run) {
      document.getElementById("title").textContent = S.run.title;
      document.getElementById("settings").textContent = Object.entries(S.run.settings).map(([k, v]) => k + " " + v).join(" · ");
    }
    if (b) {
      document.getElementById("stat-step").textContent = b.step;
      document.getElementById("stat-epoch").textContent = b.epoch;
      document.getElementById("stat-lr").textContent = fmt(b.logs.lr, 3);
      document.getElementById("stat-throughput").textContent = b.logs.examples_per_second ? Math.round(b.logs.examples_per_second) + "/s" : "–";
      document.getElementById("stat-elapsed").textContent = duration(b.seconds);
      document.getElementById("stat-left").textContent = S.ended ? "0s" : duration(b.left);
    }
    if (S.ended) setStatus("finished", S.ended.summary ? "finished · " + S.ended.summary : "finished");
    const notes = document.getElementById("notes");
    while (notes.children.length < S.notes.length) {
      const div = document.createElement("div");
      div.textContent = S.notes[notes.children.length];
      notes.appendChild(div);
    }
  }

  function renderConfusion() {
    const c = S.confusion;
    if (!c) return;
    document.getElementById("panel-confusion").hidden = false;
    document.getElementById("confusion-epoch").textContent = "epoch " + c.epoch + " · rows: true class, columns: predicted";
    const table = document.createElement("table");
    table.className = "confusion";
    const head = table.insertRow();
    head.appendChild(Object.assign(document.createElement("th"), { className: "corner", textContent: "true \\ pred" }));
    c.classes.forEach((name, j) => head.appendChild(Object.assign(document.createElement("th"), { textContent: j, title: name })));
    c.matrix.forEach((row, i) => {
      const tr = table.insertRow();
      tr.appendChild(Object.assign(document.createElement("th"), { textContent: c.classes[i] }));
      const total = row.reduce((a, b) => a + b, 0) || 1;
      row.forEach((n, j) => {
        const td = tr.insertCell();
        td.textContent = n;
        const share = n / total;
        td.style.background = i === j ? `rgba(22,163,74,${share})` : `rgba(220,38,38,${Math.min(1, 2 * share)})`;
        if (share > 0.55) td.style.color = "#fff";
      });
    });
    const box = document.getElementById("confusion");
    box.replaceChildren(table);
  }

  function renderSamples() {
    const s = S.samples;
    if (!s || s === renderSamples.done) return;
    renderSamples.done = s;
    document.getElementById("panel-samples").hidden = false;
    document.getElementById("samples-epoch").textContent = "epoch " + s.epoch;
    const box = document.getElementById("samples");
    box.replaceChildren(...s.items.map(item => {
      const div = document.createElement("div");
      div.className = "sample";
      const canvas = document.createElement("canvas");
      canvas.width = item.width; canvas.height = item.height;
      const ctx = canvas.getContext("2d"), img = ctx.createImageData(item.width, item.height);
      const px = Uint8Array.from(atob(item.pixels), ch => ch.charCodeAt(0));
      for (let i = 0; i < item.width * item.height; i++) {
        const r = px[i * item.channels], g = item.channels === 3 ? px[i * 3 + 1] : r, b = item.channels === 3 ? px[i * 3 + 2] : r;
        img.data.set([r, g, b, 255], i * 4);
      }
      ctx.putImageData(img, 0, 0);
      const right = item.label === item.predicted;
      const caption = document.createElement("div");
      caption.innerHTML = "";
      caption.append(Object.assign(document.createElement("div"), { className: right ? "right" : "wrong", textContent: item.predicted + " " + Math.round(item.probability * 100) + "%" }));
      if (!right) caption.append(Object.assign(document.createElement("div"), { textContent: "true: " + item.label }));
      div.append(canvas, caption);
      return div;
    }));
  }

  function renderGrids() {
    const titles = Object.keys(S.grids);
    if (titles.length === 0) return;
    document.getElementById("panel-grids").hidden = false;
    const box = document.getElementById("grids");
    box.replaceChildren(...titles.map(t => {
      const g = S.grids[t], fig = document.createElement("figure");
      fig.append(Object.assign(document.createElement("img"), { src: "data:image/png;base64," + g.png, alt: t }),
                 Object.assign(document.createElement("figcaption"), { textContent: t + " · epoch " + g.epoch + " · step " + g.step }));
      return fig;
    }));
  }

  function render() {
    renderStats();
    drawChart("loss", false);
    drawChart("metrics", false);
    drawChart("lr", false);
    drawChart("throughput", false);
    drawChart("grads", true);
    drawChart("episodes", false);
    renderConfusion();
    renderSamples();
    renderGrids();
  }

  function setStatus(cls, text) {
    const el = document.getElementById("status");
    el.className = "status " + cls;
    el.textContent = text;
  }

  window.addEventListener("resize", () => {
    for (const [id, entry] of Object.entries(charts))
      entry.plot.setSize({ width: Math.max(300, document.getElementById("chart-" + id).clientWidth), height: 240 });
  });

  // For tests and the curious: the state and the number of points each chart draws.
  window.dashboard = {
    get state() { return S; },
    points: id => charts[id] ? charts[id].plot.data[0].length : 0,
    series: id => charts[id] ? charts[id].plot.series.slice(1).map(s => s.label) : [],
  };

  reset();
  if (Array.isArray(window.DASHBOARD_EVENTS)) {
    window.DASHBOARD_EVENTS.forEach(handle);
    setStatus("finished", "report");
    render();
    if (S.ended) setStatus("finished", S.ended.summary ? "report · " + S.ended.summary : "report");
    return;
  }
  const source = new EventSource("events");
  source.onopen = () => setStatus("running", "live");
  source.onmessage = m => {
    const e = JSON.parse(m.data);
    handle(e);
    if (e.type === "end") source.close();
    schedule();
  };
  source.onerror = () => { if (!S.ended) setStatus("disconnected", "disconnected (training ended or the server stopped)"); };
})();
