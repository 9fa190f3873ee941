// caseaudit workbench pages. Every value from the server or a ledger is put in with
// textContent (never innerHTML), so nothing from data runs as markup.
"use strict";

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

async function api(path, options) {
  const r = await fetch(path, Object.assign({ credentials: "same-origin" }, options || {}));
  if (r.status === 401) {
    location.href = "/login";
    throw new Error("需要登录");
  }
  return r;
}

async function errorText(r) {
  try {
    const j = await r.json();
    if (j && j.error && j.error.message) return j.error.message;
  } catch (_) {}
  return "请求失败（HTTP " + r.status + "）";
}

function todayInChina() {
  const now = new Date(Date.now() + 8 * 3600 * 1000);
  return now.toISOString().slice(0, 10);
}

const STATUS = { queued: "排队中", running: "评查中", done: "已完成", failed: "失败" };

// ------------------------------------------------------------------ new audit
async function pageNew() {
  const form = document.getElementById("new-run");
  const files = document.getElementById("files");
  const chosen = document.getElementById("chosen");
  const drop = document.getElementById("drop");
  const err = document.getElementById("form-error");
  document.getElementById("as_of").value = todayInChina();
  try {
    const r = await api("/api/profiles");
    if (r.ok) {
      const sel = document.getElementById("profile");
      clear(sel);
      for (const p of await r.json()) {
        const o = el("option", p.title ? p.name + "（" + p.title + "）" : p.name);
        o.value = p.name;
        sel.appendChild(o);
      }
      sel.value = "national";
    }
  } catch (_) {}
  const show = () => {
    clear(chosen);
    for (const f of files.files) chosen.appendChild(el("li", f.name + "（" + Math.ceil(f.size / 1024) + " KB）"));
  };
  files.addEventListener("change", show);
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer && e.dataTransfer.files.length) { files.files = e.dataTransfer.files; show(); }
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    err.textContent = "";
    if (!files.files.length) { err.textContent = "请至少选择一个台账文件"; return; }
    const data = new FormData();
    for (const f of files.files) data.append("file", f, f.name);
    for (const f of document.getElementById("published").files) data.append("published", f, f.name);
    data.append("as_of", document.getElementById("as_of").value);
    data.append("profile", document.getElementById("profile").value);
    data.append("agency", document.getElementById("agency").value);
    const button = document.getElementById("submit");
    button.disabled = true;
    button.textContent = "上传中……";
    try {
      const r = await api("/api/runs", { method: "POST", body: data });
      if (r.status !== 201) { err.textContent = await errorText(r); return; }
      const j = await r.json();
      location.href = "/runs/" + encodeURIComponent(j.id);
    } catch (x) {
      err.textContent = "上传失败：" + x.message;
    } finally {
      button.disabled = false;
      button.textContent = "上传并评查";
    }
  });
}

// ------------------------------------------------------------------ one run
function renderMapping(node, data) {
  clear(node);
  const labels = data.field_labels || {};
  const label = (f) => (labels[f] ? labels[f] + "（" + f + "）" : f);
  for (const inp of data.inputs || []) {
    const box = el("div", null, "mapping");
    box.appendChild(el("h3", (inp.name || inp.file) + (inp.sheet ? " 「" + inp.sheet + "」" : "")));
    box.appendChild(el("p", "表头位于第 " + (inp.header_rows || []).join("、") + " 行；数据 " + inp.rows +
      " 行，案件 " + inp.cases + " 件，未作为案件 " + inp.rejected + " 行", "note"));
    const t = el("table", null, "list");
    const head = el("tr");
    for (const h of ["列", "表头", "标准字段", "说明"]) head.appendChild(el("th", h));
    t.appendChild(head);
    for (const c of inp.columns || []) {
      const tr = el("tr");
      tr.appendChild(el("td", c.column));
      tr.appendChild(el("td", c.header));
      tr.appendChild(el("td", c.field ? label(c.field) : "— 未识别，原样保留", c.field ? "" : "unmapped"));
      tr.appendChild(el("td", c.scale ? "金额按 ×" + c.scale + " 换算为元" : (c.note || "")));
      t.appendChild(tr);
    }
    box.appendChild(t);
    if ((inp.missing_fields || []).length)
      box.appendChild(el("p", "缺少字段：" + inp.missing_fields.map(label).join("、"), "warn"));
    for (const n of inp.not_evaluated || [])
      box.appendChild(el("p", "无法评查 " + n.rule_id + "：缺少 " + n.missing_fields.map(label).join("、"), "warn"));
    for (const n of inp.notes || []) box.appendChild(el("p", "注意：" + n, "warn"));
    node.appendChild(box);
  }
  for (const e of data.errors || []) node.appendChild(el("p", (e.name || e.file) + "：无法读取：" + e.reason, "error"));
  if (!node.firstChild) node.appendChild(el("p", "没有可显示的表头", "note"));
}

async function pageRun() {
  const id = decodeURIComponent(location.pathname.split("/").pop());
  document.getElementById("run-id").textContent = id;
  const base = "/api/runs/" + encodeURIComponent(id);
  const status = document.getElementById("status");
  let mappingShown = false;
  const loadMapping = async () => {
    const node = document.getElementById("mapping");
    const r = await api(base + "/inspect");
    if (r.ok) renderMapping(node, await r.json());
    else { clear(node); node.appendChild(el("p", await errorText(r), "error")); }
    mappingShown = true;
  };
  loadMapping();
  const poll = async () => {
    const r = await api(base);
    if (!r.ok) { status.textContent = await errorText(r); return; }
    const run = await r.json();
    status.textContent = STATUS[run.status] || run.status;
    status.dataset.status = run.status;
    const p = run.progress || { done: 0, total: 0 };
    document.getElementById("progress").textContent = "已读取 " + p.done + " / " + p.total + " 个文件";
    const bar = document.getElementById("bar");
    bar.max = Math.max(p.total, 1);
    bar.value = run.status === "done" ? bar.max : p.done;
    const dl = document.getElementById("params");
    clear(dl);
    const rows = [["评查日期", run.as_of], ["参数配置", run.profile], ["执法单位（补充）", run.agency || "—"],
      ["台账", (run.inputs || []).map((f) => f.name + "（报告中为 " + f.stored + "）").join("、")], ["提交时间", run.created]];
    if (run.status === "done") rows.push(["案件", run.cases], ["问题", run.findings], ["平均分", run.mean_score ?? "—"]);
    for (const [k, v] of rows) { dl.appendChild(el("dt", k)); dl.appendChild(el("dd", v)); }
    document.getElementById("message").textContent = run.message || "";
    const errs = document.getElementById("errors");
    clear(errs);
    for (const e of run.errors || []) errs.appendChild(el("li", e.message));
    const notes = document.getElementById("notes");
    clear(notes);
    for (const n of run.notes || []) notes.appendChild(el("li", n));
    if (run.status === "queued" || run.status === "running") { setTimeout(poll, 700); return; }
    if (run.status === "done") {
      for (const [k, f] of [["xlsx", "findings.xlsx"], ["json", "findings.json"], ["csv", "findings.csv"], ["html", "report.html"]])
        document.getElementById("dl-" + k).href = base + "/files/" + f;
      const frame = document.getElementById("report");
      frame.addEventListener("load", () => { document.body.dataset.report = "1"; });
      frame.src = base + "/files/report.html";
      document.getElementById("issued").value = todayInChina();
      document.getElementById("results").hidden = false;
      document.getElementById("mapping-box").open = false;
      document.body.dataset.ready = "1";
    }
    if (!mappingShown) loadMapping();
  };
  poll();
  document.getElementById("notices").addEventListener("submit", async (e) => {
    e.preventDefault();
    const err = document.getElementById("notices-error");
    err.textContent = "";
    const body = {
      issuer: document.getElementById("issuer").value,
      number_prefix: document.getElementById("number_prefix").value,
      issued: document.getElementById("issued").value,
      deadline_days: Number(document.getElementById("deadline_days").value || 30),
    };
    const r = await api(base + "/notices", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    if (!r.ok) { err.textContent = await errorText(r); return; }
    const blob = await r.blob();
    const a = el("a");
    a.href = URL.createObjectURL(blob);
    a.download = "整改通知书-" + id + ".zip";
    document.body.appendChild(a);
    a.click();
    a.remove();
    err.textContent = "";
    document.body.dataset.notices = "1";
  });
}

// ------------------------------------------------------------------ history
async function pageHistory() {
  const body = document.getElementById("runs");
  const button = document.getElementById("compare");
  const hint = document.getElementById("pick-hint");
  const r = await api("/api/runs");
  if (!r.ok) { hint.textContent = await errorText(r); return; }
  const runs = await r.json();
  document.getElementById("empty").hidden = runs.length > 0;
  const picked = [];
  const update = () => {
    button.disabled = picked.length !== 2;
    hint.textContent = picked.length === 2 ? "" : "已选 " + picked.length + " / 2";
  };
  for (const run of runs) {
    const tr = el("tr");
    const td = el("td");
    const box = el("input");
    box.type = "checkbox";
    box.value = run.id;
    box.disabled = run.status !== "done";
    box.addEventListener("change", () => {
      const i = picked.indexOf(run);
      if (box.checked && i < 0) picked.push(run);
      if (!box.checked && i >= 0) picked.splice(i, 1);
      update();
    });
    td.appendChild(box);
    tr.appendChild(td);
    tr.appendChild(el("td", run.created));
    const idc = el("td");
    const a = el("a", run.id);
    a.href = "/runs/" + encodeURIComponent(run.id);
    idc.appendChild(a);
    tr.appendChild(idc);
    tr.appendChild(el("td", STATUS[run.status] || run.status));
    tr.appendChild(el("td", run.as_of));
    tr.appendChild(el("td", run.profile));
    tr.appendChild(el("td", (run.inputs || []).map((f) => f.name).join("、")));
    tr.appendChild(el("td", run.cases ?? "—"));
    tr.appendChild(el("td", run.findings ?? "—"));
    tr.appendChild(el("td", run.mean_score ?? "—"));
    body.appendChild(tr);
  }
  update();
  button.addEventListener("click", () => {
    if (picked.length !== 2) return;
    const [a, b] = picked.slice().sort((x, y) => (x.created < y.created ? -1 : x.created > y.created ? 1 : x.id < y.id ? -1 : 1));
    location.href = "/follow-up?old=" + encodeURIComponent(a.id) + "&new=" + encodeURIComponent(b.id);
  });
}

// ------------------------------------------------------------------ follow-up
async function pageFollowUp() {
  const q = new URLSearchParams(location.search);
  const r = await api("/api/diff?old=" + encodeURIComponent(q.get("old") || "") + "&new=" + encodeURIComponent(q.get("new") || ""));
  if (!r.ok) { document.getElementById("diff-error").textContent = await errorText(r); return; }
  const f = await r.json();
  document.getElementById("dates").textContent = "原评查日期 " + f.old_as_of + "，复查评查日期 " + f.new_as_of;
  const body = document.getElementById("diff");
  const row = (d, cls) => {
    const tr = el("tr", null, cls);
    const rate = d.rectification_rate === null || d.rectification_rate === undefined ? "—" : (d.rectification_rate * 100).toFixed(1) + "%";
    for (const v of [d.agency, d.old, d.resolved, d.persisting, d.new, d.unknown, rate]) tr.appendChild(el("td", v));
    body.appendChild(tr);
  };
  for (const d of f.agencies || []) row(d);
  if (f.totals) row(Object.assign({}, f.totals, { agency: "合计" }), "total");
  document.body.dataset.ready = "1";
}

const page = document.querySelector("main[data-page]");
const pages = { new: pageNew, run: pageRun, history: pageHistory, "follow-up": pageFollowUp };
if (page && pages[page.dataset.page]) pages[page.dataset.page]();
