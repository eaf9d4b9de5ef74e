// runplane web UI, admin pages: create from JSON, delete (a second click confirms), the runner, task and workflow
// editors, and API tokens. Loaded after app.js, whose helpers it uses; every change goes through /api/v1.
"use strict";
(function () {
  const { $, api, show, build } = window.runplane;
  // failed says what the API refused, with the fields it names.
  const failed = (what, r) => what + ": " + r.body.error +
    (Array.isArray(r.body.fields) && r.body.fields.length ? " (" + r.body.fields.map((f) => (f.path || "/") + ": " + f.message).join("; ") + ")" : "") + ".";
  const ok = (r) => r.status >= 200 && r.status < 300;
  document.querySelectorAll("form.json-create").forEach((form) => {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const errEl = form.querySelector(".create-error");
      let body;
      try { body = JSON.parse(form.elements.json.value); } catch (e) { show(errEl, "Not valid JSON: " + e.message + "."); return; }
      const r = await api("POST", form.dataset.action, body);
      if (!ok(r)) { show(errEl, failed("Not created", r)); return; }
      // A webhook's secret is answered once, by its create: show it now or never.
      if (typeof r.body.secret === "string" && r.body.secret !== "" && $("created")) {
        show(errEl, "");
        $("created-secret").textContent = r.body.secret;
        $("created").hidden = false;
        $("created").scrollIntoView();
        return;
      }
      location.reload();
    });
  });
  document.querySelectorAll("button[data-delete]").forEach((b) => {
    b.addEventListener("click", async () => {
      if (b.dataset.armed !== "true") { b.dataset.armed = "true"; b.textContent = "Confirm delete"; return; }
      const r = await api("DELETE", b.dataset.delete);
      if (!ok(r)) { show($("admin-error") || $("tokens-error"), failed("Not deleted", r)); return; }
      location.reload();
    });
  });

  const objectForm = $("object-form");
  if (objectForm) {
    objectForm.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      let body;
      try { body = JSON.parse($("object-json").value); } catch (e) { show($("object-error"), "Not valid JSON: " + e.message + "."); return; }
      const r = await api("PATCH", objectForm.dataset.path, body);
      if (!ok(r)) { show($("object-error"), failed("Not saved", r)); return; }
      location.assign(objectForm.dataset.back);
    });
  }

  const runnerForm = $("runner-form");
  if (runnerForm) {
    const mask = runnerForm.dataset.mask;
    const isNew = runnerForm.dataset.new === "true";
    const rows = $("new-secrets");
    let n = 0;
    $("add-secret").addEventListener("click", () => {
      const i = ++n;
      const row = document.createElement("div");
      row.className = "secret new";
      row.innerHTML = '<label for="ns-k' + i + '">Secret ' + i + ' key</label><input id="ns-k' + i + '" class="nk" autocomplete="off">' +
        '<label for="ns-v' + i + '">Secret ' + i + ' value</label><input id="ns-v' + i + '" class="nv" type="password" autocomplete="off">';
      rows.appendChild(row);
      row.querySelector(".nk").focus();
    });
    runnerForm.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const f = runnerForm.elements;
      const rm = $("r-token-rm");
      const body = { name: f.name.value.trim(), image: f.image.value.trim(), gitURL: f.gitURL.value.trim(), branch: f.branch.value.trim() };
      body.token = f.token.value !== "" ? f.token.value : (rm && rm.checked ? "" : (isNew ? "" : mask));
      const secret = {};
      runnerForm.querySelectorAll("input[data-secret]").forEach((i) => {
        const gone = runnerForm.querySelector('input[data-secret-rm="' + CSS.escape(i.dataset.secret) + '"]').checked;
        if (!gone) { secret[i.dataset.secret] = i.value !== "" ? i.value : mask; }
      });
      rows.querySelectorAll(".secret.new").forEach((row) => {
        const k = row.querySelector(".nk").value.trim();
        if (k) { secret[k] = row.querySelector(".nv").value; }
      });
      body.secret = secret;
      const r = isNew ? await api("POST", "/api/v1/runners", body)
        : await api("PUT", "/api/v1/runners/" + encodeURIComponent(runnerForm.dataset.name), body);
      if (!ok(r)) { show($("runner-error"), failed("Not saved", r)); show($("runner-ok"), ""); return; }
      location.assign("/admin/runners");
    });
  }

  const taskForm = $("task-form");
  if (taskForm) {
    const ta = $("t-schema");
    const preview = $("preview");
    const hintEl = $("t-schema-h");
    const render = () => {
      preview.textContent = "";
      let schema;
      try { schema = ta.value.trim() === "" ? {} : JSON.parse(ta.value); } catch (e) {
        hintEl.textContent = "Not valid JSON yet: " + e.message;
        ta.setAttribute("aria-invalid", "true");
        return;
      }
      ta.removeAttribute("aria-invalid");
      hintEl.textContent = "The form preview follows as you type.";
      const hasProps = schema && (schema.properties || schema.type === "array");
      build(hasProps ? schema : { description: "Input as JSON (optional)" }, preview, hasProps ? "" : "Input", false);
    };
    ta.addEventListener("input", render);
    render();
    taskForm.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const f = taskForm.elements;
      let schema;
      try { schema = ta.value.trim() === "" ? undefined : JSON.parse(ta.value); } catch (e) {
        show($("task-error"), "The schema is not valid JSON: " + e.message + "."); ta.focus(); return;
      }
      const body = { name: f.name.value.trim(), runner: f.runner.value.trim(), command: f.command.value, synchronous: f.synchronous.checked, schema };
      const isNew = taskForm.dataset.new === "true";
      const r = isNew ? await api("POST", "/api/v1/tasks", body)
        : await api("PUT", "/api/v1/tasks/" + encodeURIComponent(taskForm.dataset.name), body);
      if (!ok(r)) { show($("task-error"), failed("Not saved", r)); return; }
      location.assign("/admin/tasks");
    });
  }

  const wfForm = $("wf-form");
  if (wfForm) {
    const send = async (dry) => {
      const isNew = wfForm.dataset.new === "true";
      const path = isNew ? "/api/v1/workflows" : "/api/v1/workflows/" + encodeURIComponent(wfForm.dataset.name);
      const r = await api(isNew ? "POST" : "PUT", path + (dry ? "?dryRun=All" : ""), $("wf-yaml").value, "application/yaml");
      if (!ok(r)) {
        show($("wf-ok"), "");
        show($("wf-error"), failed(dry ? "Not valid" : "Not saved", r));
        $("wf-yaml").setAttribute("aria-invalid", "true");
        return null;
      }
      $("wf-yaml").removeAttribute("aria-invalid");
      show($("wf-error"), "");
      return r.body;
    };
    $("wf-validate").addEventListener("click", async () => {
      const w = await send(true);
      if (w) { show($("wf-ok"), "Valid: the server would save workflow " + (w.name || "") + " with " + (w.steps || []).length + " step(s)."); }
    });
    wfForm.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const w = await send(false);
      if (!w) { return; }
      // The webhooks of new webhook triggers: their secrets are answered once, by this save. Show them now.
      const secrets = Object.entries(w.trigger_secrets || {});
      if (secrets.length === 0) { location.assign("/workflows/" + encodeURIComponent(w.name)); return; }
      show($("wf-ok"), "Saved. New webhook triggers, their secrets shown only this once:");
      const pre = $("wf-secrets");
      pre.textContent = secrets.map(([name, s]) => name + ": POST " + s.url + "\n  secret: " + s.secret).join("\n");
      pre.hidden = false;
      pre.scrollIntoView();
    });
  }

  const tokenForm = $("token-form");
  if (tokenForm) {
    tokenForm.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const body = { description: tokenForm.elements.description.value };
      if (tokenForm.elements.expires.value) { body.expires = new Date(tokenForm.elements.expires.value + "T23:59:59Z").toISOString(); }
      const r = await api("POST", "/api/v1/api_tokens", body);
      if (!ok(r)) { show($("token-error"), failed("Not created", r)); return; }
      show($("token-error"), "");
      $("token-key").textContent = r.body.key || "";
      $("token-new").hidden = false;
      $("token-new").scrollIntoView();
    });
  }

})();
