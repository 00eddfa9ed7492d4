// Outbound's dashboard script: live numbers without reloading, confirmations for final
// actions, and small form helpers. Every page works without it; it only makes them better.
"use strict";

(function () {
  const POLL_MS = 1000;
  const HIDDEN_POLL_MS = 5000;

  function setText(root, field, value) {
    root.querySelectorAll('[data-field="' + field + '"]').forEach(function (el) {
      el.textContent = String(value);
    });
  }

  function setBadge(root, status, label) {
    root.querySelectorAll("[data-badge]").forEach(function (el) {
      el.textContent = label;
      el.className = "badge badge-" + status;
    });
  }

  function clock() {
    return new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  }

  function liveStatus(text, stale) {
    document.querySelectorAll("[data-live-status]").forEach(function (el) {
      el.textContent = text;
      el.classList.toggle("stale", Boolean(stale));
    });
  }

  function updateDetail(root, data) {
    const page = document;
    setBadge(page, data.status, data.status_label);
    page.querySelectorAll("[data-show-when]").forEach(function (el) {
      el.hidden = el.getAttribute("data-show-when").split(" ").indexOf(data.status) < 0;
    });
    Object.keys(data.contacts).forEach(function (state) {
      setText(root, "contacts." + state, data.contacts[state]);
    });
    ["in_flight", "concurrency", "dnc_blocks", "answered", "abandoned", "finished", "total"]
      .forEach(function (name) { setText(root, name, data[name]); });
    if (data.free_agents !== null) setText(root, "free_agents", data.free_agents);
    setText(root, "pacing_now", data.pacing.now.toFixed(1));
    setText(root, "pacing_configured", String(data.pacing.configured));
    setText(root, "abandonment", (data.abandonment_rate * 100).toFixed(1) + " %");
    setText(root, "abandon_window", data.abandon_text);
    setText(root, "limited_by_text", data.limited_by_text || "");
    page.querySelectorAll("[data-why]").forEach(function (el) { el.hidden = !data.limited_by_text; });
    if (data.agents !== null) {
      setText(root, "occupancy", (data.agents.occupancy * 100).toFixed(0) + " %");
      setText(root, "agents_busy", data.agents.busy);
      setText(root, "agents_logged_in", data.agents.logged_in);
    }
    root.querySelectorAll('[data-field="pacing-meter"]').forEach(function (meter) {
      meter.max = data.pacing.configured;
      meter.value = data.pacing.now;
    });
    root.querySelectorAll('[data-field="progress"]').forEach(function (bar) {
      bar.max = data.total || 1;
      bar.value = data.finished;
    });
    root.querySelectorAll('[data-field="activity"]').forEach(function (list) {
      const items = data.activity.map(function (item) {
        const li = document.createElement("li");
        const time = document.createElement("time");
        time.dateTime = item.at;
        time.textContent = item.when;
        li.append(time, " " + item.text);
        return li;
      });
      if (items.length) list.replaceChildren.apply(list, items);
    });
  }

  function updateList(root, data) {
    data.campaigns.forEach(function (c) {
      const row = root.querySelector('tr[data-campaign="' + c.id + '"]');
      if (!row) return;
      setBadge(row, c.status, c.status_label);
      row.querySelectorAll('[data-field="progress"]').forEach(function (bar) {
        bar.max = c.total || 1;
        bar.value = c.finished;
      });
      setText(row, "progress-text", c.finished + " / " + c.total + " finished");
      setText(row, "in_flight", c.in_flight);
      setText(row, "start", c.start);
    });
  }

  function poll(root) {
    const url = root.getAttribute("data-live");
    const update = root.getAttribute("data-live-kind") === "list" ? updateList : updateDetail;
    function next(ms) { window.setTimeout(tick, ms); }
    function tick() {
      if (document.visibilityState === "hidden") { next(HIDDEN_POLL_MS); return; }
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" })
        .then(function (response) {
          if (response.status === 401) {
            liveStatus("Signed out: reload the page to sign in again.", true);
            return null;
          }
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (data) {
          if (data === null) return;
          update(root, data);
          liveStatus("Live: updated " + clock() + ".", false);
          next(POLL_MS);
        })
        .catch(function () {
          liveStatus("Live updates interrupted at " + clock() + "; retrying…", true);
          next(POLL_MS * 3);
        });
    }
    next(POLL_MS);
  }

  // A form with data-confirm asks in a dialog first; the server asks too when script is off.
  function confirmFirst(form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.confirmed === "yes") return;
      event.preventDefault();
      const dialog = document.createElement("dialog");
      dialog.setAttribute("aria-labelledby", "confirm-text");
      const text = document.createElement("p");
      text.id = "confirm-text";
      text.textContent = form.getAttribute("data-confirm");
      const actions = document.createElement("div");
      actions.className = "actions";
      const no = document.createElement("button");
      no.type = "button";
      no.className = "secondary";
      no.textContent = form.getAttribute("data-confirm-no") || "Cancel";
      const yes = document.createElement("button");
      yes.type = "button";
      yes.className = "danger";
      yes.textContent = form.getAttribute("data-confirm-yes") || "Yes";
      actions.append(no, yes);
      dialog.append(text, actions);
      document.body.append(dialog);
      no.addEventListener("click", function () { dialog.close(); });
      dialog.addEventListener("close", function () { dialog.remove(); });
      yes.addEventListener("click", function () {
        const confirmed = document.createElement("input");
        confirmed.type = "hidden";
        confirmed.name = "confirm";
        confirmed.value = "yes";
        form.append(confirmed);
        form.dataset.confirmed = "yes";
        dialog.close();
        form.submit();
      });
      dialog.showModal();
      no.focus();
    });
  }

  // Parts of a form shown only for one choice of a radio group (data-shown-by="name=value").
  function showBy(el) {
    const spec = el.getAttribute("data-shown-by").split("=");
    const radios = document.querySelectorAll('input[type="radio"][name="' + spec[0] + '"]');
    function sync() {
      const chosen = document.querySelector('input[type="radio"][name="' + spec[0] + '"]:checked');
      el.hidden = !chosen || chosen.value !== spec[1];
    }
    radios.forEach(function (radio) { radio.addEventListener("change", sync); });
    sync();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live]").forEach(poll);
    document.querySelectorAll("form[data-confirm]").forEach(confirmFirst);
    document.querySelectorAll("[data-shown-by]").forEach(showBy);
    const summary = document.querySelector("[data-focus]");
    if (summary) summary.focus();
    else if (location.hash) {
      const target = document.getElementById(location.hash.slice(1));
      if (target && target.tabIndex === -1) target.focus();
    }
  });
})();
