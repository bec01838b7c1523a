/* aurelia view: renders data/index.js and, on demand, data/chunk-NNNNN.js. No network, no modules
   (file:// pages may load classic scripts only). Every text from a record goes in through
   textContent (el() below): model output is shown, never run. */
"use strict";

var AURELIA = (function () {
  var PAGE = 100;
  var state = { index: null, chunks: {}, waiting: {}, page: 0 };

  function el(tag, attrs) {
    var node = document.createElement(tag);
    var key;
    for (key in attrs || {}) {
      if (attrs[key] === null || attrs[key] === undefined) continue;
      if (key === "text") node.textContent = String(attrs[key]);
      else if (key === "cls") node.className = attrs[key];
      else node.setAttribute(key, attrs[key]);
    }
    for (var i = 2; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  function fmt(value, digits) {
    if (value === null || value === undefined) return "\u2013";
    if (typeof value === "number" && digits !== undefined) return value.toFixed(digits);
    if (typeof value === "boolean") return value ? "yes" : "no";
    return String(value);
  }

  function stat(label, value) {
    return el("div", { cls: "stat" }, el("b", { text: value }), label);
  }

  function kv(pairs) {
    var dl = el("dl", { cls: "kv" });
    pairs.forEach(function (p) {
      if (p[1] === undefined) return;
      dl.append(el("dt", { text: p[0] }), el("dd", { text: fmt(p[1]) }));
    });
    return dl;
  }

  // --- the index ---------------------------------------------------------------------------

  var COLUMNS = {
    distill: [["id", "sample"], ["status", "status"], ["score", "score"], ["rounds", "rounds"],
              ["stop", "stop"], ["leaked", "leaked"], ["topology", "topology"], ["category", "category"],
              ["seconds", "seconds"]],
    eval: [["id", "sample"], ["status", "status"], ["category", "category"], ["answer", "gold"],
           ["correct", "correct"], ["answers", "answers"]]
  };
  var SORTS = {
    distill: [["file", "run order"], ["score-asc", "score, low first"], ["score-desc", "score, high first"],
              ["rounds-desc", "rounds, most first"], ["id", "sample id"]],
    eval: [["file", "run order"], ["correct-asc", "correct, fewest first"],
           ["correct-desc", "correct, most first"], ["id", "sample id"]]
  };

  function loadIndex(index) {
    state.index = index;
    var kind = index.kind;
    document.title = "aurelia " + kind + " \u2013 " + index.run;
    document.getElementById("title").textContent = "aurelia " + kind;
    var made = index.provenance || {};
    document.getElementById("meta").textContent = index.run +
      (made.identity_hash ? " \u00b7 run identity " + made.identity_hash.slice(0, 12) : "") +
      (made.updated ? " \u00b7 updated " + made.updated : "") +
      (made.aurelia ? " \u00b7 aurelia " + made.aurelia : "") + " \u00b7 page built " + index.built +
      (index.in_progress ? " \u00b7 run in progress: showing what is done" : "");
    if (made.argv) document.getElementById("meta").title = made.argv.join(" ");
    renderSummary();
    if (kind === "eval") renderReport();
    fillSelect("f-status", unique(index.samples, "status"));
    fillSelect("f-category", unique(index.samples, "category"));
    var sort = document.getElementById("f-sort");
    SORTS[kind].forEach(function (s) { sort.append(el("option", { value: s[0], text: s[1] })); });
    var head = el("tr");
    COLUMNS[kind].forEach(function (c) { head.append(el("th", { text: c[1] })); });
    document.querySelector("#samples thead").append(head);
    ["f-status", "f-category", "f-sort"].forEach(function (id) {
      document.getElementById(id).addEventListener("change", function () { state.page = 0; renderList(); });
    });
    document.getElementById("prev").addEventListener("click", function () { state.page--; renderList(); });
    document.getElementById("next").addEventListener("click", function () { state.page++; renderList(); });
    window.addEventListener("hashchange", route);
    route();
  }

  function unique(samples, key) {
    var seen = {};
    samples.forEach(function (s) { if (s[key] !== null && s[key] !== undefined) seen[s[key]] = true; });
    return Object.keys(seen).sort();
  }

  function fillSelect(id, values) {
    var select = document.getElementById(id);
    values.forEach(function (v) { select.append(el("option", { value: v, text: v })); });
  }

  function renderSummary() {
    var box = document.getElementById("summary");
    var s = state.index.summary;
    if (state.index.kind === "distill") {
      box.append(stat("samples", s.samples), stat("ok", s.ok), stat("filtered", s.filtered),
                 stat("errors", s.error), stat("mean rounds", fmt(s.mean_rounds, 2)),
                 stat("seconds / sample", fmt(s.mean_seconds, 2)),
                 stat("passed threshold", s.passed_threshold), stat("answer leaked", s.leaked));
    } else {
      var rows = 0, errors = 0;
      state.index.samples.forEach(function (x) { rows += x.answers; if (x.status === "error") errors++; });
      box.append(stat("samples", state.index.samples.length), stat("answers", rows),
                 stat("samples with errors", errors), stat("targets", state.index.targets.length),
                 stat("arms", state.index.arms.length));
    }
  }

  function renderReport() {
    var box = document.getElementById("report");
    var index = state.index;
    box.append(el("h2", { text: "Accuracy per arm" }));
    index.targets.forEach(function (target) {
      var summary = index.report[target];
      var table = el("table", { cls: "report" });
      table.append(el("thead", null, el("tr", null, el("th", { text: target }), el("th", { text: "n" }),
        el("th", { text: "accuracy" }), el("th", { text: "95% CI" }), el("th", { text: "no answer" }),
        el("th", { text: "errors" }))));
      var body = el("tbody");
      index.arms.forEach(function (arm) {
        var a = summary.arms[arm];
        if (!a) return;
        var ci = a.ci95 ? fmt(a.ci95[0], 3) + " \u2013 " + fmt(a.ci95[1], 3) : "\u2013";
        body.append(el("tr", null, el("td", { text: arm }), el("td", { text: a.n }),
          el("td", { text: fmt(a.accuracy, 3) }), el("td", { text: ci }),
          el("td", { text: a.no_answer }), el("td", { text: a.errors })));
      });
      table.append(body);
      box.append(table);
    });
    if (index.chart) box.append(el("p", null, el("img", { cls: "chart", src: index.chart, alt: "accuracy per arm" })));
  }

  function visible() {
    var status = document.getElementById("f-status").value;
    var category = document.getElementById("f-category").value;
    var sort = document.getElementById("f-sort").value;
    var rows = state.index.samples.filter(function (s) {
      return (!status || s.status === status) && (!category || s.category === category);
    });
    var parts = sort.split("-"), key = parts[0], desc = parts[1] === "desc";
    if (key !== "file") {
      rows = rows.slice().sort(function (a, b) {
        var x = a[key], y = b[key];
        if (x === null || x === undefined) return 1;
        if (y === null || y === undefined) return -1;
        var order = x < y ? -1 : x > y ? 1 : 0;
        return desc ? -order : order;
      });
    }
    return rows;
  }

  function renderList() {
    var rows = visible();
    var pages = Math.max(1, Math.ceil(rows.length / PAGE));
    state.page = Math.min(Math.max(state.page, 0), pages - 1);
    document.getElementById("shown").textContent = rows.length + " of " + state.index.samples.length + " shown";
    document.getElementById("page").textContent = "page " + (state.page + 1) + " / " + pages;
    document.getElementById("prev").disabled = state.page === 0;
    document.getElementById("next").disabled = state.page >= pages - 1;
    var body = document.querySelector("#samples tbody");
    body.replaceChildren();
    var columns = COLUMNS[state.index.kind];
    rows.slice(state.page * PAGE, (state.page + 1) * PAGE).forEach(function (s) {
      var tr = el("tr", { cls: "row", "data-id": s.id });
      columns.forEach(function (c) {
        var value = s[c[0]];
        var td = el("td", { text: c[0] === "correct" ? value + " / " + s.answers : fmt(value) });
        if (c[0] === "status") td.className = "status-" + value;
        tr.append(td);
      });
      tr.addEventListener("click", function () { location.hash = "#/sample/" + encodeURIComponent(s.id); });
      body.append(tr);
    });
  }

  // --- one sample --------------------------------------------------------------------------

  function route() {
    var match = location.hash.match(/^#\/sample\/(.+)$/);
    var list = document.getElementById("list-view"), detail = document.getElementById("detail-view");
    if (!match) {
      list.hidden = false; detail.hidden = true;
      renderList();
      return;
    }
    var id = decodeURIComponent(match[1]);
    var entry = state.index.samples.filter(function (s) { return s.id === id; })[0];
    list.hidden = true; detail.hidden = false;
    var box = document.getElementById("detail");
    box.replaceChildren(el("p", { text: entry ? "loading " + id + "\u2026" : "no sample " + id }));
    if (!entry) return;
    withChunk(entry.chunk, function (records) {
      var position = state.index.samples.indexOf(entry) - entry.chunk * state.index.chunk_size;
      var record = records[position];
      box.replaceChildren(state.index.kind === "distill" ? traceView(record) : evalView(record));
    });
  }

  function withChunk(n, done) {
    if (state.chunks[n]) return done(state.chunks[n]);
    (state.waiting[n] = state.waiting[n] || []).push(done);
    if (state.waiting[n].length > 1) return;
    var name = "00000" + n;
    var script = el("script", { src: "data/chunk-" + name.slice(name.length - 5) + ".js" });
    script.onerror = function () {
      document.getElementById("detail").replaceChildren(el("p", { cls: "error", text: "data file missing: " + script.src }));
    };
    document.body.append(script);
  }

  function loadChunk(n, records) {
    state.chunks[n] = records;
    (state.waiting[n] || []).forEach(function (done) { done(records); });
    state.waiting[n] = [];
  }

  function traceView(r) {
    var box = el("article", { cls: "sample", "data-id": r.id });
    box.append(el("h2", { text: r.id === null ? "error" : r.id }));
    if (r.status === "error") {
      box.append(kv([["status", "error"], ["where", r.where]]), el("h3", { text: "reason" }),
                 el("pre", { cls: "error reason", text: r.error }));
      return box;
    }
    box.append(kv([["status", r.status], ["score", r.score], ["rounds", r.rounds.length],
                   ["best round", r.best_round], ["stop reason", r.stop_reason], ["topology", r.topology],
                   ["answer leaked", r.leakage ? r.leakage.leaked : null], ["category", r.category],
                   ["gold answer", r.answer], ["seconds", fmt(r.seconds, 2)], ["video", r.video_path]]));
    box.append(el("h3", { text: "question" }), el("p", { cls: "text question", text: r.query }));
    if (r.choices) {
      var ol = el("ul", { cls: "choices" });
      r.choices.forEach(function (c) { ol.append(el("li", { text: c })); });
      box.append(ol);
    }
    box.append(mediaView(r));
    box.append(el("h3", { text: "r* (best round's reasoning)" }));
    var rstar = el("ol", { cls: "rstar" });
    r.reasoning_steps.forEach(function (s) { rstar.append(el("li", { text: s })); });
    box.append(rstar);
    box.append(el("h2", { text: "Rounds" }));
    r.rounds.forEach(function (round) { box.append(roundView(round, round.round === r.best_round)); });
    return box;
  }

  function mediaView(r) {
    var box = el("section", { cls: "media" });
    var pm = r.page_media || {};
    var keyframes = (r.media && r.media.keyframes) || [];
    if (keyframes.length) {
      box.append(el("h3", { text: "keyframes the evaluator compared the caption with" }));
      var strip = el("div", { cls: "keyframes" });
      keyframes.forEach(function (k) {
        var src = (pm.thumbs || {})[String(k.time_s)];
        strip.append(el("figure", null, src ? el("img", { src: src, alt: "frame at " + k.time_s + " s" }) : null,
                        el("figcaption", { text: fmt(k.time_s, 2) + " s \u00b7 " + k.reason })));
      });
      box.append(strip);
    }
    if (pm.audio) {
      box.append(el("h3", { text: "audio" }), el("audio", { controls: "", preload: "metadata", src: pm.audio }));
    }
    if (pm.error) box.append(el("p", { cls: "error", text: "page media: " + pm.error }));
    var transcript = r.media && r.media.transcript;
    if (transcript) {
      box.append(el("h3", { text: "transcript (" + (transcript.language || "?") + ", " + transcript.model + ")" }),
                 el("p", { cls: "text transcript", text: transcript.text }));
    }
    return box;
  }

  function roundView(round, best) {
    var box = el("div", { cls: best ? "round best" : "round", "data-round": round.round,
                          "data-score": round.score ? round.score.value : null });
    box.append(el("h3", null, "Round " + round.round, best ? el("span", { cls: "badge", text: "r*" }) : null));
    var steps = el("ol", { cls: "steps" });
    round.reasoning.steps.forEach(function (s, i) {
      var answer = round.reasoning.step_answers[i];
      steps.append(el("li", null, el("span", { text: s }), answer ? el("div", { cls: "text", text: "\u2192 " + answer }) : null));
    });
    box.append(steps);
    var score = round.score;
    box.append(kv([["final answer", round.reasoning.final_answer], ["caption", round.caption],
                   ["score", score ? score.value : null],
                   ["sub-scores", score ? Object.keys(score.sub_scores).map(function (k) { return k + " " + score.sub_scores[k]; }).join(", ") : null],
                   ["weakest", score ? score.weakest : null], ["note", score && score.note ? score.note : undefined],
                   ["asks", round.generator_asks], ["feedback used", round.feedback_used],
                   ["seconds", Object.keys(round.seconds).map(function (k) { return k + " " + fmt(round.seconds[k], 2); }).join(", ")],
                   ["tokens", Object.keys(round.tokens).map(function (k) { var t = round.tokens[k]; return k + " " + t.prompt + "+" + t.completion; }).join(", ")]]));
    if (round.avrt) {
      ["vision", "audio", "merger"].forEach(function (who) {
        var t = round.avrt[who];
        var part = el("div", { cls: "teacher", "data-who": who },
                      el("h3", { text: who === "merger" ? "merger (merged reasoning)" : who + " teacher" }));
        var ol = el("ol");
        t.steps.forEach(function (s) { ol.append(el("li", { text: s })); });
        part.append(ol, kv([["answer", t.answer]]));
        box.append(part);
      });
    }
    return box;
  }

  function evalView(s) {
    var box = el("article", { cls: "sample", "data-id": s.id });
    box.append(el("h2", { text: s.id }));
    box.append(kv([["category", s.category], ["gold answer", s.answer]]));
    if (s.question) box.append(el("h3", { text: "question" }), el("p", { cls: "text question", text: s.question }));
    if (s.choices) {
      var ul = el("ul", { cls: "choices" });
      s.choices.forEach(function (c) { ul.append(el("li", { text: c })); });
      box.append(ul);
    }
    var targets = {}, arms = state.index.arms;
    s.rows.forEach(function (row) { (targets[row.target] = targets[row.target] || {})[row.arm] = row; });
    Object.keys(targets).sort().forEach(function (target) {
      box.append(el("h2", { text: target }));
      var table = el("table", { cls: "arms" });
      var head = el("tr");
      arms.forEach(function (arm) { head.append(el("th", { text: arm })); });
      table.append(el("thead", null, head));
      var tr = el("tr");
      arms.forEach(function (arm) {
        var row = targets[target][arm];
        var td = el("td", { "data-arm": arm });
        if (!row) td.append("\u2013");
        else if (row.status === "error") td.append(el("pre", { cls: "error", text: row.error }));
        else {
          td.append(el("div", null, "answer ", el("b", { text: fmt(row.extracted) }), " ",
                        el("span", { cls: row.correct ? "yes" : "no", text: row.correct ? "\u2713 right" : "\u2717 wrong" })),
                    el("pre", { cls: "output", text: row.output }));
          if (row.draws) {
            var counts = Object.keys(row.votes || {}).map(function (a) { return a + " " + row.votes[a]; });
            td.append(el("div", { cls: "votes", text: row.draws.length + " draws, votes: " +
              (counts.join(", ") || "none") + (row.tie ? " (tie: first drawn wins)" : "") }));
          }
          if (row.r_star) {
            var ol = el("ol", { cls: "rstar" });
            row.r_star.forEach(function (step) { ol.append(el("li", { text: step })); });
            td.append(el("div", { text: "r* injected:" }), ol);
          }
        }
        tr.append(td);
      });
      table.append(el("tbody", null, tr));
      box.append(table);
    });
    return box;
  }

  return { loadIndex: loadIndex, loadChunk: loadChunk };
})();
