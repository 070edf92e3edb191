// The script of idc-scim's pages. Pages work without it; it only adds comforts.
//
// - A button with data-copy="ID" copies the text of the element with that id, and says so.
// - A form with data-confirm="question" asks before it is sent.
// - An input with data-autofocus gets the focus when the page opens.
// - A list with data-journal stays live (the console's journal): see below.
"use strict";

document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  event.preventDefault();
  const source = document.getElementById(button.dataset.copy);
  if (!source) return;
  const label = button.textContent;
  try {
    await navigator.clipboard.writeText(source.textContent.trim());
    button.textContent = "Copied";
  } catch {
    const range = document.createRange();
    range.selectNodeContents(source);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    button.textContent = "Selected: press Ctrl+C";
  }
  setTimeout(() => { button.textContent = label; }, 2000);
});

document.addEventListener("submit", (event) => {
  const question = event.target.dataset && event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});

document.addEventListener("DOMContentLoaded", () => {
  const first = document.querySelector("[data-autofocus]");
  if (first) first.focus();
});

// The live journal: every two seconds, the list asks its data-source for the entries after the
// newest it shows (data-after) and puts them on top, newest first, as the server rendered them.
// A button with data-journal-toggle pauses and resumes; an element with data-journal-status
// says what happens. Without this script the page lists the requests as they were when loaded.
document.addEventListener("DOMContentLoaded", () => {
  const list = document.querySelector("[data-journal]");
  if (!list) return;
  const status = document.querySelector("[data-journal-status]");
  const toggle = document.querySelector("[data-journal-toggle]");
  const empty = document.querySelector("[data-journal-empty]");
  const kept = 500;
  const live = "Live: new requests appear at the top.";
  let after = Number(list.dataset.after || 0);
  let paused = false;
  const say = (text) => { if (status) status.textContent = text; };
  if (toggle) {
    toggle.hidden = false;
    toggle.addEventListener("click", () => {
      paused = !paused;
      toggle.textContent = paused ? "Resume live updates" : "Pause live updates";
      say(paused ? "Live updates paused." : live);
    });
  }
  say(live);
  const poll = async () => {
    if (!paused && !document.hidden) {
      try {
        const url = new URL(list.dataset.source, window.location.href);
        url.searchParams.set("after", String(after));
        const response = await fetch(url, {
          headers: { accept: "application/json" },
          credentials: "same-origin",
          redirect: "error",
        });
        if (!response.ok) throw new Error(`status ${response.status}`);
        const update = await response.json();
        if (update.count > 0) {
          list.insertAdjacentHTML("afterbegin", update.html);
          after = update.last;
          list.dataset.after = String(after);
          if (empty) empty.hidden = true;
          while (list.children.length > kept) list.lastElementChild.remove();
          const s = update.count === 1 ? "" : "s";
          say(`Live: ${update.count} new request${s} at ${new Date().toLocaleTimeString()}.`);
        }
      } catch {
        say("Live updates stopped (signed out, or the server is gone): reload the page.");
        return;
      }
    }
    setTimeout(poll, 2000);
  };
  setTimeout(poll, 2000);
});
