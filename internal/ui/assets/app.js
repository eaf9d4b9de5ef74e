// runplane web UI: progressive enhancement of server-rendered pages. Every change goes through /api/v1 (the API's
// origin check is the CSRF protection); nothing here holds a rule the API lacks.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);

  function toSignIn() {
    location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
  }

  // api calls the REST API as the signed-in browser. It answers {status, body}; 401 goes to sign-in.
  async function api(method, path, body, contentType) {
    const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (contentType) {
      init.headers["Content-Type"] = contentType;
      init.body = body;
    } else if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let r;
    try {
      r = await fetch(path, init);
    } catch (e) {
      return { status: 0, body: { error: "the server could not be reached" } };
    }
    let data = {};
    try { data = await r.json(); } catch (e) { data = {}; }
    if (r.status === 401 && path !== "/api/v1/login") { toSignIn(); }
    if (!r.ok && !data.error) { data.error = "the server answered " + r.status; }
    return { status: r.status, body: data };
  }

  function show(el, text) {
    el.textContent = text;
    el.hidden = !text;
  }

  // --- sign in, sign out ---
  const login = $("login");
  if (login) {
    login.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const f = new FormData(login);
      const r = await api("POST", "/api/v1/login", {
        username: f.get("username"), password: f.get("password"), provider: f.get("provider"),
      });
      if (r.status === 200) { location.assign(login.dataset.next || "/tasks"); return; }
      show($("login-error"), "Sign-in failed: " + r.body.error + ".");
      $("password").focus();
    });
  }
  const signout = $("signout");
  if (signout) {
    signout.addEventListener("click", async () => {
      await api("POST", "/api/v1/logout");
      location.assign("/login");
    });
  }

  // --- the JSON-Schema form renderer ---
  let uid = 0;
  const ptr = (path, key) => path + "/" + String(key).replace(/~/g, "~0").replace(/\//g, "~1");

  function hint(parent, schema, input) {
    if (!schema.description) { return; }
    const p = document.createElement("p");
    p.className = "hint";
    p.id = "h" + (++uid);
    p.textContent = schema.description;
    parent.appendChild(p);
    if (input) { input.setAttribute("aria-describedby", p.id); }
  }

  function errorSlot(parent) {
    const p = document.createElement("p");
    p.className = "field-error";
    p.hidden = true;
    parent.appendChild(p);
    return p;
  }

  // build renders schema into parent and answers a node: get(path, reg) collects the value (undefined: left
  // empty) and registers, by JSON pointer, where an error about that path is shown.
  function build(schema, parent, label, required) {
    schema = schema || {};
    let type = Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type;
    if (!type && schema.properties) { type = "object"; }
    if (type === "object" && schema.properties) { return buildObject(schema, parent, label); }
    if (type === "array") { return buildArray(schema, parent, label); }
    const id = "f" + (++uid);
    const wrap = document.createElement("div");
    let input;
    if (type === "boolean") {
      input = document.createElement("input");
      input.type = "checkbox";
      input.checked = schema.default === true;
      const l = document.createElement("label");
      l.appendChild(input);
      l.appendChild(document.createTextNode(label));
      wrap.appendChild(l);
    } else {
      const l = document.createElement("label");
      l.htmlFor = id;
      l.textContent = label + (required ? " (required)" : "");
      wrap.appendChild(l);
      if (Array.isArray(schema.enum)) {
        input = document.createElement("select");
        if (!required || schema.default === undefined) { input.appendChild(new Option("", "")); }
        schema.enum.forEach((v, i) => {
          const o = new Option(String(v), String(i));
          o.selected = schema.default !== undefined && JSON.stringify(schema.default) === JSON.stringify(v);
          input.appendChild(o);
        });
      } else if (type === "string" || type === "integer" || type === "number") {
        input = document.createElement("input");
        if (type === "string") {
          input.type = schema.format === "password" || schema.writeOnly ? "password" : "text";
          if (input.type === "password") { input.autocomplete = "off"; }
          if (schema.pattern) { input.pattern = schema.pattern; }
          if (schema.minLength !== undefined) { input.minLength = schema.minLength; }
          if (schema.maxLength !== undefined) { input.maxLength = schema.maxLength; }
        } else {
          input.type = "number";
          input.step = type === "integer" ? "1" : "any";
          if (schema.minimum !== undefined) { input.min = schema.minimum; }
          if (schema.maximum !== undefined) { input.max = schema.maximum; }
        }
        if (schema.default !== undefined && input.type !== "password") { input.value = schema.default; }
      } else {
        input = document.createElement("textarea");
        input.rows = 3;
        input.placeholder = "JSON";
        if (schema.default !== undefined) { input.value = JSON.stringify(schema.default, null, 2); }
      }
      input.id = id;
      input.name = label;
      input.required = !!required;
      wrap.appendChild(input);
    }
    hint(wrap, schema, input);
    const err = errorSlot(wrap);
    parent.appendChild(wrap);
    input.addEventListener("input", () => { input.removeAttribute("aria-invalid"); show(err, ""); });
    const target = { input, err };
    return {
      wrap,
      get(path, reg) {
        reg[path] = target;
        if (input.type === "checkbox") { return input.checked; }
        if (input.tagName === "SELECT") { return input.value === "" ? undefined : schema.enum[+input.value]; }
        if (input.value === "") { return undefined; }
        if (input.type === "number") { return Number(input.value); }
        if (input.tagName === "TEXTAREA") {
          try { return JSON.parse(input.value); } catch (e) { return { __invalid: "not valid JSON" }; }
        }
        return input.value;
      },
    };
  }

  function buildObject(schema, parent, label) {
    const box = document.createElement(label ? "fieldset" : "div");
    if (label) {
      const lg = document.createElement("legend");
      lg.textContent = label;
      box.appendChild(lg);
    }
    hint(box, schema, null);
    const err = errorSlot(box);
    const req = schema.required || [];
    const kids = Object.entries(schema.properties).map(([k, s]) => [k, build(s, box, (s && s.title) || k, req.includes(k))]);
    parent.appendChild(box);
    return {
      wrap: box,
      get(path, reg) {
        reg[path] = { input: null, err };
        const out = {};
        for (const [k, n] of kids) {
          const v = n.get(ptr(path, k), reg);
          if (v !== undefined) { out[k] = v; }
        }
        return out;
      },
    };
  }

  function buildArray(schema, parent, label) {
    const box = document.createElement("fieldset");
    const lg = document.createElement("legend");
    lg.textContent = label || "items";
    box.appendChild(lg);
    hint(box, schema, null);
    const err = errorSlot(box);
    const list = document.createElement("div");
    box.appendChild(list);
    const items = [];
    const add = (value) => {
      const row = document.createElement("div");
      const n = build(schema.items || {}, row, (label || "item") + " " + (items.length + 1), true);
      const rm = document.createElement("button");
      rm.type = "button";
      rm.className = "small";
      rm.textContent = "Remove";
      rm.addEventListener("click", () => { items.splice(items.indexOf(n), 1); row.remove(); });
      row.appendChild(rm);
      list.appendChild(row);
      items.push(n);
      const inp = row.querySelector("input,select,textarea");
      if (value !== undefined && inp && inp.type !== "checkbox" && typeof value !== "object") { inp.value = value; }
    };
    const more = document.createElement("button");
    more.type = "button";
    more.className = "small";
    more.textContent = "Add " + (label || "item");
    more.addEventListener("click", () => add());
    box.appendChild(more);
    (Array.isArray(schema.default) ? schema.default : []).forEach(add);
    parent.appendChild(box);
    return {
      wrap: box,
      get(path, reg) {
        reg[path] = { input: more, err };
        return items.map((n, i) => n.get(ptr(path, i), reg));
      },
    };
  }

  // fieldFor finds where an error at path is shown: the field, else its nearest ancestor with one.
  function fieldFor(reg, path, message) {
    const m = /^missing propert(?:y|ies) "([^"]+)"/.exec(message || "");
    if (m) { path = ptr(path === "/" ? "" : path, m[1]); }
    for (let p = path; ; p = p.slice(0, p.lastIndexOf("/"))) {
      if (reg[p]) { return reg[p]; }
      if (p === "" || p === "/") { return reg[""] || null; }
    }
  }

  // errorAfter is the error slot right after a control the renderer did not build.
  function errorAfter(input) {
    let p = input.nextElementSibling;
    if (!p || !p.classList.contains("field-error")) {
      p = document.createElement("p");
      p.className = "field-error";
      input.after(p);
    }
    return p;
  }

  function markError(t, message) {
    if (t.input) {
      t.input.setAttribute("aria-invalid", "true");
      if (t.err.id === "") { t.err.id = "e" + (++uid); }
      t.input.setAttribute("aria-errormessage", t.err.id);
    }
    show(t.err, message);
  }

  const run = $("run");
  if (run) {
    let schema = {};
    try { schema = JSON.parse(run.dataset.schema || "{}"); } catch (e) { schema = {}; }
    const hasProps = schema && (schema.properties || schema.type === "array");
    const root = build(hasProps ? schema : { description: "Input as JSON (optional)" }, $("fields"), hasProps ? "" : "Input", false);
    run.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      run.querySelectorAll("[aria-invalid]").forEach((e) => e.removeAttribute("aria-invalid"));
      run.querySelectorAll(".field-error").forEach((e) => show(e, ""));
      show($("run-error"), "");
      const reg = {};
      const value = root.get("", reg);
      // Client-side checks first: the browser's own constraint validation on every rendered control.
      let first = null;
      for (const t of Object.values(reg)) {
        if (t.input && t.input.willValidate && !t.input.checkValidity()) {
          markError(t, t.input.validationMessage);
          first = first || t.input;
        }
      }
      if (first) { first.focus(); return; }
      const action = run.dataset.action || "/api/v1/tasks/" + encodeURIComponent(run.dataset.task) + "/run";
      let body = value === undefined ? {} : value;
      const resource = run.dataset.kind === "resource";
      if (resource) {
        // A resource request: the form's value is its spec.
        const name = $("rr-name");
        if (!name.checkValidity()) { markError({ input: name, err: errorAfter(name) }, name.validationMessage); name.focus(); return; }
        const ns = $("rr-ns");
        body = { apiVersion: run.dataset.apiVersion, kind: run.dataset.resourceKind,
          metadata: ns ? { name: name.value, namespace: ns.value } : { name: name.value }, spec: body };
      }
      const r = await api("POST", action, body);
      if (r.status === 400 && Array.isArray(r.body.fields) && r.body.fields.length) {
        for (const f of r.body.fields) {
          let fp = f.path === "/" ? "" : f.path;
          if (resource) { fp = fp.startsWith("/spec") ? fp.slice(5) : "/-"; }
          const t = fieldFor(reg, fp, f.message);
          if (t) { markError(t, f.message); first = first || t.input; } else { show($("run-error"), r.body.error); }
        }
        show($("run-error"), "The server refused the input: see the marked fields.");
        if (first) { first.focus(); }
        return;
      }
      if (r.status >= 400 || r.status === 0) { show($("run-error"), (resource ? "The request was refused: " : "The run failed: ") + r.body.error + "."); return; }
      if (resource) { location.reload(); return; }
      if (run.dataset.kind === "workflow") { location.assign("/runs/" + encodeURIComponent(r.body.id)); return; }
      const job = r.body;
      if (!job.status || job.status === "queued" || job.status === "running" || run.dataset.sync !== "true") {
        location.assign("/jobs/" + encodeURIComponent(job.id));
        return;
      }
      showResult(job);
    });
  }

  function showResult(job) {
    const sec = $("result");
    sec.hidden = false;
    const st = $("result-status");
    st.textContent = "";
    const a = document.createElement("a");
    a.href = "/jobs/" + encodeURIComponent(job.id);
    a.textContent = job.id;
    st.append("Job ", a, " " + job.status + (job.exit_code !== undefined ? ", exit code " + job.exit_code : ""));
    const body = $("result-body");
    body.textContent = "";
    const d = job.json_data;
    if (d && typeof d === "object" && !Array.isArray(d) && Object.values(d).every((v) => v === null || typeof v !== "object")) {
      const t = document.createElement("table");
      t.id = "result-table";
      for (const [k, v] of Object.entries(d)) {
        const tr = t.insertRow();
        const th = document.createElement("th");
        th.scope = "row";
        th.textContent = k;
        tr.appendChild(th);
        tr.insertCell().textContent = typeof v === "string" ? v : JSON.stringify(v);
      }
      body.appendChild(t);
    } else if (d !== undefined) {
      const pre = document.createElement("pre");
      pre.id = "result-json";
      pre.textContent = JSON.stringify(d, null, 2);
      body.appendChild(pre);
    } else {
      body.textContent = "The job returned no result.";
    }
    $("result").scrollIntoView();
  }

  // --- ANSI colours, rendered as DOM nodes with fixed class names (text is never parsed as HTML) ---
  function ansiWriter(pre) {
    let fg = -1, bold = false, carry = "";
    const put = (text) => {
      if (!text) { return; }
      if (fg < 0 && !bold) { pre.appendChild(document.createTextNode(text)); return; }
      const s = document.createElement("span");
      s.className = (fg >= 0 ? "a" + fg : "") + (bold ? " ab" : "");
      s.textContent = text;
      pre.appendChild(s);
    };
    return (chunk) => {
      let s = carry + chunk;
      carry = "";
      for (;;) {
        const i = s.indexOf("\x1b");
        if (i < 0) { put(s); return; }
        put(s.slice(0, i));
        s = s.slice(i + 1);
        if (s === "") { carry = "\x1b"; return; }
        if (s[0] !== "[") { continue; }
        const m = /^\[([\x30-\x3f]*)[\x20-\x2f]*([\x40-\x7e])/.exec(s);
        if (!m) {
          if (/^\[[\x20-\x3f]*$/.test(s)) { carry = "\x1b" + s; return; }
          continue;
        }
        s = s.slice(m[0].length);
        if (m[2] !== "m") { continue; }
        for (const p of m[1].split(";")) {
          const n = p === "" ? 0 : parseInt(p, 10);
          if (n === 0) { fg = -1; bold = false; } else if (n === 1) { bold = true; } else if (n === 22) { bold = false; }
          else if (n >= 30 && n <= 37) { fg = n - 30; } else if (n >= 90 && n <= 97) { fg = n - 82; } else if (n === 39) { fg = -1; }
        }
      }
    };
  }

  // --- the job page: live log, follow/pause, cancel, rerun ---
  const job = $("job");
  if (job) {
    const id = job.dataset.id;
    const err = $("job-error");
    const cancel = $("cancel");
    if (cancel) {
      cancel.addEventListener("click", async () => {
        const r = await api("POST", "/api/v1/jobs/" + encodeURIComponent(id) + "/cancel");
        if (r.status >= 400 || r.status === 0) { show(err, "Cancel failed: " + r.body.error + "."); return; }
        location.reload();
      });
    }
    const rerun = $("rerun");
    if (rerun) {
      rerun.addEventListener("click", async () => {
        const r = await api("POST", "/api/v1/jobs/" + encodeURIComponent(id) + "/rerun");
        if (r.status >= 400 || r.status === 0) { show(err, "Run again failed: " + r.body.error + "."); return; }
        location.assign("/jobs/" + encodeURIComponent(r.body.id));
      });
    }
    if (job.dataset.live === "true") { followLog(id); }
  }

  async function followLog(id) {
    const pre = $("log");
    const follow = $("follow");
    const held = [];
    const write = ansiWriter(pre);
    const add = (text) => {
      if (!follow.checked) { held.push(text); return; }
      write(text);
      pre.scrollTop = pre.scrollHeight;
    };
    follow.addEventListener("change", () => {
      if (follow.checked) { held.splice(0).forEach(add); }
    });
    let r;
    try {
      r = await fetch("/api/v1/jobs/" + encodeURIComponent(id) + "/log?follow=true", { credentials: "same-origin" });
    } catch (e) {
      show($("job-error"), "The log could not be followed: the server could not be reached.");
      return;
    }
    if (r.status === 401) { toSignIn(); return; }
    if (!r.ok || !r.body) { show($("job-error"), "The log could not be followed: the server answered " + r.status + "."); return; }
    pre.textContent = "";
    const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ done: true }));
      if (done) { break; }
      add(value);
    }
    // The job ended (or the stream broke): the page shows its final state.
    const j = await api("GET", "/api/v1/jobs/" + encodeURIComponent(id));
    if (j.body.status && j.body.status !== "queued" && j.body.status !== "running") {
      if (follow.checked) { location.reload(); } else { $("job-status").textContent = j.body.status; }
    }
  }

  // admin.js (admin pages only) builds on these.
  window.runplane = { $, api, show, build };

  // --- the run page: the graph's steps follow the run's state ---
  const wfrun = $("wfrun");
  if (wfrun) {
    const id = wfrun.dataset.id;
    const err = $("wfrun-error");
    const path = "/api/v1/runs/" + encodeURIComponent(id);
    const cancel = $("run-cancel");
    if (cancel) {
      cancel.addEventListener("click", async () => {
        const r = await api("POST", path + "/cancel");
        if (r.status >= 400 || r.status === 0) { show(err, "Cancel failed: " + r.body.error + "."); return; }
        paint(r.body);
      });
    }
    const rerun = $("run-rerun");
    if (rerun) {
      rerun.addEventListener("click", async () => {
        const r = await api("POST", path + "/rerun");
        if (r.status >= 400 || r.status === 0) { show(err, "Run again failed: " + r.body.error + "."); return; }
        location.assign("/runs/" + encodeURIComponent(r.body.id));
      });
    }
    const live = (st) => st === "queued" || st === "running";
    function paint(run) {
      const rs = $("run-status");
      rs.textContent = run.status;
      rs.className = "status s-" + run.status;
      $("run-reason").textContent = run.reason || "";
      for (const s of run.steps || []) {
        const sel = '[data-step="' + CSS.escape(s.name) + '"]';
        const n = document.querySelector("#graph " + sel);
        if (n) {
          n.setAttribute("class", "node s-" + s.status);
          n.querySelector(".state").textContent = s.status;
          n.querySelector("title").textContent = s.name + ": " + s.status + (s.message ? " (" + s.message + ")" : "");
          if (s.job) { n.setAttribute("href", "/jobs/" + encodeURIComponent(s.job)); }
        }
        const row = document.querySelector("#steps " + sel);
        if (row) {
          const st = row.querySelector(".status");
          st.textContent = s.status;
          st.className = "status s-" + s.status;
          row.querySelector(".msg").textContent = s.message || "";
          const cell = row.querySelector(".job");
          if (s.job && !cell.querySelector("a")) {
            const a = document.createElement("a");
            a.href = "/jobs/" + encodeURIComponent(s.job);
            a.textContent = s.job;
            cell.appendChild(a);
          }
        }
      }
      if (!live(run.status) && cancel) { cancel.remove(); }
    }
    if (wfrun.dataset.live === "true") {
      const poll = async () => {
        const r = await api("GET", path);
        if (r.status === 200) {
          show(err, "");
          paint(r.body);
          if (!live(r.body.status)) { return; }
        } else if (r.status !== 401) {
          show(err, "The run's state could not be read: " + r.body.error + ".");
        }
        setTimeout(poll, 1000);
      };
      setTimeout(poll, 1000);
    }
  }

  // --- the job list refreshes itself ---
  const auto = $("autorefresh");
  if (auto) {
    setInterval(async () => {
      if (!auto.checked || document.hidden) { return; }
      let r;
      try { r = await fetch(location.href, { credentials: "same-origin" }); } catch (e) { return; }
      if (r.redirected && new URL(r.url).pathname === "/login") { toSignIn(); return; }
      if (!r.ok) { return; }
      const doc = new DOMParser().parseFromString(await r.text(), "text/html");
      const fresh = doc.getElementById("jobs-list");
      if (fresh) { $("jobs-list").replaceWith(document.importNode(fresh, true)); }
    }, 5000);
  }
})();
