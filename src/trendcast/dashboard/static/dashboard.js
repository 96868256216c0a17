/* trendcast dashboard: draws the charts embedded as JSON, sends uploads and forecast jobs to
   the REST API (same origin; the sign-in cookie authenticates), polls jobs. No framework. */
(function () {
  "use strict";

  var T = JSON.parse(document.getElementById("tc-text").textContent);
  /* The page's language ("zh-CN" -> "zh"): the API answers uploads in it. */
  var LANG = /^zh/.test(document.documentElement.lang) ? "zh" : "en";
  var PLOT_CONFIG = { responsive: true, displaylogo: false };

  function drawCharts(root) {
    var divs = (root || document).querySelectorAll("div.chart[data-figure]");
    for (var i = 0; i < divs.length; i++) {
      var fig = JSON.parse(document.getElementById(divs[i].getAttribute("data-figure")).textContent);
      Plotly.newPlot(divs[i], fig.data, fig.layout, PLOT_CONFIG);
    }
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /* The API answers every error with {"error": {"code", "message", "field"?}}. */
  function errorText(status, body) {
    if (body && body.error && body.error.message) return body.error.message;
    return T.js_request_failed + " " + status;
  }

  /* fetch JSON; on an HTTP error throw an Error carrying the server's message (and its body). */
  function api(url, options) {
    var opts = Object.assign({ credentials: "same-origin" }, options || {});
    opts.headers = Object.assign({ Accept: "application/json" }, opts.headers || {});
    return fetch(url, opts).then(function (resp) {
      return resp.text().then(function (text) {
        var body = null;
        try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
        if (!resp.ok) {
          var err = new Error(errorText(resp.status, body));
          err.body = body;
          throw err;
        }
        return body;
      });
    });
  }

  function show(box, cls, text) {
    box.textContent = "";
    box.appendChild(el("p", { "class": cls, role: cls === "error" ? "alert" : "status" }, text));
  }

  /* ---------------------------------------------------------------- upload page */
  function describeUpload(body) {
    var lines = [body.rows_read + " " + T.js_rows];
    body.tables.forEach(function (w) {
      lines.push(w.table + ": " + w.inserted + " " + T.js_new + ", " + w.updated + " " + T.js_updated +
                 ", " + w.unchanged + " " + T.js_unchanged);
    });
    body.notes.forEach(function (n) { lines.push(n); });
    return lines;
  }

  /* Elements carrying data-<attr>="value" (compared as text: names from a file never become
     part of a CSS selector). */
  function byData(root, attr, value) {
    return Array.prototype.filter.call(root.querySelectorAll("[data-" + attr + "]"), function (node) {
      return node.getAttribute("data-" + attr) === value;
    });
  }

  /* An option of the upload form applies to the kinds named by its nearest data-kinds. */
  function appliesTo(node, kind) {
    var holder = node.closest("[data-kinds]");
    return !holder || holder.getAttribute("data-kinds").split(" ").indexOf(kind) >= 0;
  }

  function showKindOptions(form, kind) {
    Array.prototype.forEach.call(form.querySelectorAll("[data-kinds]"), function (node) {
      node.hidden = node.getAttribute("data-kinds").split(" ").indexOf(kind) < 0;
    });
  }

  /* The options filled in for this kind as the API's form fields; an empty one is not sent. */
  function uploadFields(form, kind) {
    var fields = [];
    Array.prototype.forEach.call(form.querySelectorAll("[data-map]"), function (input) {
      var value = input.value.trim();
      if (value && appliesTo(input, kind)) fields.push(["map", input.getAttribute("data-map") + "=" + value]);
    });
    Array.prototype.forEach.call(form.querySelectorAll("[data-option]"), function (input) {
      if (!appliesTo(input, kind)) return;
      var value = input.type === "checkbox" ? (input.checked ? "true" : "") : input.value.trim();
      if (value) fields.push([input.getAttribute("data-option"), value]);
    });
    return fields;
  }

  /* The form fields an upload error points at: the options its message says to set
     (error.options), the option at fault (error.field) and, for a column mapping, the
     column it names ("--map ds=<your column>") or else the whole mapping. */
  function fieldsToFix(form, kind, info) {
    var found = [];
    function add(node) { if (node && appliesTo(node, kind) && found.indexOf(node) < 0) found.push(node); }
    var names = (info.options || []).concat(info.field ? [info.field] : []);
    names.forEach(function (name) {
      if (name === "map") {
        var named = /--map (\w+)=/.exec(info.message_en || info.message || "");
        var column = named ? named[1] : info.field;
        var inputs = column ? byData(form, "map", column).filter(function (n) { return appliesTo(n, kind); }) : [];
        add(inputs[0] || document.getElementById("upload-map"));
      } else {
        add(byData(form, "option", name)[0]);
      }
    });
    return found;
  }

  function clearFixes(form) {
    Array.prototype.forEach.call(form.querySelectorAll(".needs-fix"), function (node) {
      node.classList.remove("needs-fix");
    });
  }

  /* The API's message, then for each field that fixes it a plain sentence naming the field as
     the form labels it ("tick “The shop was closed…”"), the field outlined and the options open. */
  function showUploadError(form, box, kind, err) {
    var info = (err.body && err.body.error) || {};
    box.textContent = "";
    var div = el("div", { "class": "error", role: "alert", id: "upload-error" });
    div.appendChild(el("p", {}, T.js_upload_failed + " " + err.message));
    var fix = fieldsToFix(form, kind, info);
    if (fix.length) document.getElementById("upload-options").open = true;
    fix.forEach(function (node) {
      var verb = node.type === "checkbox" ? T.js_fix_check : (node.tagName === "SELECT" ? T.js_fix_choose : T.js_fix_fill);
      (node.type === "checkbox" ? node.closest("label") : node).classList.add("needs-fix");
      var name = node.getAttribute("data-option") || (node.getAttribute("data-map") ? "map-" + node.getAttribute("data-map") : "map");
      var p = el("p", { "class": "fix", "data-fix": name }, verb.replace("{label}", node.getAttribute("data-label")));
      var button = el("button", { type: "button" }, T.js_fix_show);
      button.addEventListener("click", function () {
        node.scrollIntoView({ block: "center" });
        if (node.focus) node.focus();
      });
      p.appendChild(button);
      div.appendChild(p);
    });
    box.appendChild(div);
  }

  function initUpload() {
    var form = document.getElementById("upload-form");
    if (!form) return;
    var box = document.getElementById("upload-result");
    var kindSelect = document.getElementById("upload-kind");
    showKindOptions(form, kindSelect.value);  /* the browser may have restored another kind */
    kindSelect.addEventListener("change", function () {
      clearFixes(form);
      showKindOptions(form, kindSelect.value);
    });
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var input = document.getElementById("upload-file");
      if (!input.files.length) { show(box, "error", T.js_choose_file); return; }
      var kind = kindSelect.value;
      var data = new FormData();
      data.append("file", input.files[0]);
      uploadFields(form, kind).forEach(function (pair) { data.append(pair[0], pair[1]); });
      var button = document.getElementById("upload-submit");
      button.disabled = true;
      clearFixes(form);
      show(box, "muted", T.js_uploading);
      api("/api/uploads?kind=" + encodeURIComponent(kind) + "&lang=" + encodeURIComponent(LANG),
          { method: "POST", body: data })
        .then(function (body) {
          box.textContent = "";
          var ok = el("div", { "class": "ok", role: "status", "data-kind": kind });
          ok.appendChild(el("strong", {}, T.js_uploaded + " " + input.files[0].name));
          var ul = el("ul");
          describeUpload(body).forEach(function (line) { ul.appendChild(el("li", {}, line)); });
          ok.appendChild(ul);
          box.appendChild(ok);
        })
        .catch(function (err) { showUploadError(form, box, kind, err); })
        .then(function () { button.disabled = false; });
    });
  }

  /* -------------------------------------------------------------- forecast page */
  function quantileColumn(model, q) {
    var text = q.toFixed(6).replace(/0+$/, "").replace(/\.$/, "");
    return model + "-q-" + text;
  }

  /* A fan chart drawn from GET /api/series/{id} and GET /api/runs/{run}/forecasts?id=... */
  function drawJobChart(div, series, forecast, uid) {
    var points = series.history.slice(-Math.max(90, 5 * forecast.items.length));
    var rows = forecast.items;
    var model = forecast.run.chosen ? forecast.run.chosen.model : forecast.run.models[0];
    var quantiles = forecast.run.quantiles || [];
    var x = rows.map(function (r) { return r.ds; });
    var col = function (name) { return rows.map(function (r) { return r.values[name]; }); };
    var traces = [];
    var lo = quantiles.filter(function (q) { return q < 0.5; });
    var hi = quantiles.filter(function (q) { return q > 0.5; });
    if (lo.length && hi.length) {
      var qlo = Math.min.apply(null, lo), qhi = Math.max.apply(null, hi);
      traces.push({ type: "scatter", x: x, y: col(quantileColumn(model, qhi)), mode: "lines", line: { width: 0 },
                    showlegend: false, hoverinfo: "skip" });
      traces.push({ type: "scatter", x: x, y: col(quantileColumn(model, qlo)), mode: "lines", line: { width: 0 },
                    fill: "tonexty", fillcolor: "rgba(31,119,180,0.25)", name: qlo + "–" + qhi });
    }
    traces.push({ type: "scatter", x: points.map(function (r) { return r.ds; }),
                  y: points.map(function (r) { return r.y; }), mode: "lines", name: uid,
                  line: { color: "#444", width: 1.2 } });
    traces.push({ type: "scatter", x: x, y: col(model), mode: "lines", name: model,
                  line: { color: "#1f77b4", width: 2 } });
    var font = getComputedStyle(document.body).fontFamily;
    var title = uid + (series.product && series.product.title ? " — " + series.product.title : "");
    Plotly.newPlot(div, traces, { height: 380, margin: { l: 50, r: 10, t: 40, b: 40 }, font: { family: font },
                                  template: "plotly_white", legend: { orientation: "h" }, title: { text: title } },
                   PLOT_CONFIG);
  }

  function initForecast() {
    var form = document.getElementById("forecast-form");
    if (!form) return;
    var fitSettings = document.getElementById("fit-settings");
    Array.prototype.forEach.call(form.querySelectorAll("input[name=source]"), function (radio) {
      radio.addEventListener("change", function () {  /* a saved version has its own settings */
        fitSettings.hidden = document.getElementById("source-promoted").checked;
      });
    });
    var panel = document.getElementById("job");
    var bar = document.getElementById("job-progress");
    var label = document.getElementById("job-label");
    var result = document.getElementById("job-result");
    var chartDiv = document.getElementById("job-chart");
    var button = document.getElementById("forecast-submit");

    function finish() { button.disabled = false; }

    function done(job, uid) {
      bar.value = bar.max;
      var runId = job.run_id;
      result.textContent = "";
      var p = el("p", { "class": "ok", role: "status", id: "job-done" }, T.js_job_done + " " + runId + ". ");
      if (uid) {
        var a = el("a", { href: "/products/" + encodeURIComponent(uid) + "?run=" + encodeURIComponent(runId),
                          id: "job-product-link" }, T.js_open_product + " " + uid);
        p.appendChild(a);
      }
      result.appendChild(p);
      if (!uid) { finish(); return; }
      Promise.all([
        api("/api/series/" + encodeURIComponent(uid)),
        api("/api/runs/" + encodeURIComponent(runId) + "/forecasts?id=" + encodeURIComponent(uid))
      ]).then(function (res) { drawJobChart(chartDiv, res[0], res[1], uid); })
        .catch(function (err) { show(result, "error", err.message); })
        .then(finish);
    }

    function poll(jobId, uid) {
      api("/api/jobs/" + encodeURIComponent(jobId)).then(function (job) {
        if (job.progress !== undefined && job.progress !== null) bar.value = Math.max(0, Math.min(1, job.progress));
        label.textContent = job.label || job.status || "";
        if (job.status === "done") {
          done(job, uid);
        } else if (job.status === "failed" || job.status === "cancelled") {
          show(result, "error", T.js_job_failed + " " + (job.error || job.status));
          finish();
        } else {
          setTimeout(function () { poll(jobId, uid); }, 500);
        }
      }).catch(function (err) { show(result, "error", err.message); finish(); });
    }

    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var models = Array.prototype.map.call(form.querySelectorAll("input[name=models]:checked"),
                                            function (b) { return b.value; });
      var quantiles = document.getElementById("quantiles").value.split(",")
        .map(function (s) { return s.trim(); }).filter(function (s) { return s; }).map(Number);
      var payload = { horizon: Number(document.getElementById("horizon").value), models: models,
                      quantiles: quantiles };
      var fromVersion = document.getElementById("source-promoted");
      if (fromVersion && fromVersion.checked) payload = { from_model: "promoted" };
      var uid = document.getElementById("show-product").value;
      panel.hidden = false;
      bar.removeAttribute("value");
      result.textContent = "";
      label.textContent = T.js_starting;
      button.disabled = true;
      api("/api/jobs/forecast", { method: "POST", headers: { "Content-Type": "application/json" },
                                  body: JSON.stringify(payload) })
        .then(function (job) { bar.value = 0; poll(job.job_id, uid); })
        .catch(function (err) { show(result, "error", err.message); finish(); });
    });
  }

  /* ----------------------------------------------------- what-if plan */
  function planRows(text) {
    /* A plain CSV (no quoted commas): the header names the columns of each row. */
    var lines = text.split(/\r?\n/).map(function (l) { return l.trim(); }).filter(function (l) { return l; });
    if (lines.length < 2) return [];
    var head = lines[0].split(",").map(function (h) { return h.trim().toLowerCase(); });
    return lines.slice(1).map(function (line) {
      var cells = line.split(","), row = {};
      head.forEach(function (h, i) {
        var v = (cells[i] || "").trim();
        if (!v) return;
        if (h === "price" || h === "discount") row[h] = isNaN(Number(v)) ? v : Number(v);
        else if (h === "promo") row[h] = /^(1|true|yes|y)$/i.test(v) ? true : (/^(0|false|no|n)$/i.test(v) ? false : v);
        else row[h] = v;
      });
      return row;
    });
  }

  function initScenario() {
    var form = document.getElementById("scenario-form");
    if (!form) return;
    var panel = document.getElementById("job");
    var bar = document.getElementById("job-progress");
    var label = document.getElementById("job-label");
    var result = document.getElementById("job-result");
    var button = document.getElementById("scenario-submit");

    function poll(jobId) {
      api("/api/jobs/" + encodeURIComponent(jobId)).then(function (job) {
        if (job.progress !== undefined && job.progress !== null) bar.value = Math.max(0, Math.min(1, job.progress));
        label.textContent = job.label || job.status || "";
        if (job.status === "done") {
          window.location.assign("/scenario?run=" + encodeURIComponent(job.run_id));
        } else if (job.status === "failed" || job.status === "cancelled") {
          show(result, "error", T.js_job_failed + " " + (job.error || job.status));
          button.disabled = false;
        } else {
          setTimeout(function () { poll(jobId); }, 500);
        }
      }).catch(function (err) { show(result, "error", err.message); button.disabled = false; });
    }

    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var rows = planRows(document.getElementById("plan").value);
      panel.hidden = false;
      result.textContent = "";
      if (!rows.length) { show(result, "error", T.js_plan_empty); return; }
      var models = Array.prototype.map.call(form.querySelectorAll("input[name=models]:checked"),
                                            function (b) { return b.value; });
      var payload = { horizon: Number(document.getElementById("horizon").value), models: models,
                      scenario: rows };
      bar.removeAttribute("value");
      label.textContent = T.js_starting;
      button.disabled = true;
      api("/api/jobs/forecast", { method: "POST", headers: { "Content-Type": "application/json" },
                                  body: JSON.stringify(payload) })
        .then(function (job) { bar.value = 0; poll(job.job_id); })
        .catch(function (err) { show(result, "error", err.message); button.disabled = false; });
    });
  }

  /* ----------------------------------------------------- product page: drivers */
  function initDrivers() {
    var button = document.getElementById("drivers-load");
    if (!button) return;
    var box = document.getElementById("drivers-body");
    button.addEventListener("click", function () {
      button.disabled = true;
      show(box, "muted", T.js_computing);
      fetch(button.getAttribute("data-url"), { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (resp) {
          return resp.text().then(function (text) {
            /* The fragment is server-rendered with every value escaped (same origin). */
            box.innerHTML = text;
            drawCharts(box);
            if (resp.ok) button.hidden = true;
          });
        })
        .catch(function (err) { show(box, "error", err.message); })
        .then(function () { button.disabled = false; });
    });
  }

  drawCharts(document);
  initUpload();
  initForecast();
  initScenario();
  initDrivers();
})();
