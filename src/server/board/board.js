// The teacher's board. Once a second it asks the server for /state.json and redraws the table:
// one row per student, one column per stage of the seed's exercise. Every text it shows goes
// through textContent, never innerHTML, so a user name cannot become markup.
"use strict";

// What each stage of the seed's flow is called on the page (the keys are progress::Stage's).
const LABELS = {
  greeting: "220 greeting",
  wrong_password_530: "530 wrong password",
  login_230: "230 login",
  pwd: "PWD",
  list: "LIST",
  retr: "RETR",
  stor: "STOR",
  cwd_folder: "CWD folder",
  cwd_missing_550: "550 missing folder",
};

// A student whose last command is older than this (seconds) is marked idle: maybe stuck.
const IDLE_AFTER = 120;

let columnsDrawn = false;
let openSession = null; // the session whose diagram is shown, if any

function $(id) { return document.getElementById(id); }

// Where to ask: the page's origin, without any name:password a browser was given in the address
// (fetch refuses such a URL; the browser remembers the login for the origin anyway).
function url(path) { return location.origin + path; }

// A table cell with text and a class.
function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

// The stage columns, once: their names come from the server, in the seed's order.
function drawColumns(stages) {
  const quiz = $("columns").children[4];
  for (const stage of stages) {
    const th = document.createElement("th");
    th.textContent = LABELS[stage] || stage;
    th.dataset.stage = stage;
    $("columns").insertBefore(th, quiz);
  }
  columnsDrawn = true;
}

function ago(seconds) {
  if (seconds < 60) return seconds + " s ago";
  if (seconds < 3600) return Math.floor(seconds / 60) + " min ago";
  return Math.floor(seconds / 3600) + " h ago";
}

// One student's row.
function drawRow(row, stages) {
  const tr = document.createElement("tr");
  tr.dataset.account = row.account;
  tr.appendChild(cell(row.account, "account"));
  tr.appendChild(cell("", row.connected > 0 ? "online" : "offline"));
  const last = row.last_command === null ? "" : row.last_command + " (" + ago(row.last_ago) + ")";
  tr.appendChild(cell(last, "last"));
  if (row.connected > 0 && row.last_ago !== null && row.last_ago > IDLE_AFTER) {
    tr.classList.add("idle");
  }
  tr.appendChild(cell(String(row.bytes), "bytes"));
  stages.forEach((stage, i) => {
    const td = cell("", "stage " + (row.stages[i] ? "done" : "todo"));
    td.dataset.stage = stage;
    td.title = (LABELS[stage] || stage) + (row.stages[i] ? ": done" : ": not yet");
    tr.appendChild(td);
  });
  tr.appendChild(cell(row.quiz === null ? "" : row.quiz[0] + " / " + row.quiz[1], "quiz"));
  const sessions = cell("", "sessions");
  for (const session of row.sessions) {
    const a = document.createElement("a");
    a.href = "#session=" + session.id;
    a.textContent = "#" + session.id;
    a.className = session.live ? "live" : "ended";
    a.title = session.live ? "live: open its diagram" : "ended: open its diagram";
    sessions.appendChild(a);
  }
  tr.appendChild(sessions);
  return tr;
}

// Ask the server for the class's state and redraw.
async function refresh() {
  try {
    const response = await fetch(url("/state.json"), { cache: "no-store" });
    if (!response.ok) throw new Error("HTTP " + response.status);
    const state = await response.json();
    if (!columnsDrawn) drawColumns(state.stages);
    const rows = state.rows.map((row) => drawRow(row, state.stages));
    $("rows").replaceChildren(...rows);
    const online = state.rows.filter((row) => row.connected > 0).length;
    $("status").textContent = online + " of " + state.rows.length + " connected; updated " +
      new Date().toLocaleTimeString();
    $("status").className = "";
    // A live session's diagram grows: fetch it again.
    if (openSession !== null) showSession(openSession, false);
  } catch (error) {
    $("status").textContent = "cannot reach the server (" + error.message + "); trying again";
    $("status").className = "error";
  }
}

// Show session `id` as a sequence diagram, put inline so it can be read and saved.
async function showSession(id, scroll) {
  const response = await fetch(url("/session/" + id + ".svg"), { cache: "no-store" });
  if (!response.ok) return;
  const text = await response.text();
  // Parsed as SVG, not as HTML: the server's diagram carries no script, and this keeps it so.
  const picture = new DOMParser().parseFromString(text, "image/svg+xml").documentElement;
  if (picture.nodeName !== "svg") return;
  openSession = id;
  $("diagram-title").textContent = "Session " + id;
  $("diagram-save").href = "/session/" + id + ".svg?download";
  $("diagram-picture").replaceChildren(document.importNode(picture, true));
  $("diagram").hidden = false;
  if (scroll) $("diagram").scrollIntoView();
}

// The address's #session=N opens that diagram (so a link to it can be shared or bookmarked).
function followHash() {
  const match = /^#session=(\d+)$/.exec(location.hash);
  if (match) showSession(Number(match[1]), true);
}

$("diagram-close").addEventListener("click", () => {
  openSession = null;
  $("diagram").hidden = true;
  history.replaceState(null, "", "/");
});
window.addEventListener("hashchange", followHash);

refresh();
followHash();
setInterval(refresh, 1000);
