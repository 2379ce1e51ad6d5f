// merit-stream supervisor page: reads /events (server-sent events, one JSON message each) and draws the calls.
// Messages: {kind: "reset"} starts a snapshot, "ready" ends it; "event", "trend", "alert", "summary" carry a job record
// in Avro's JSON encoding as "value"; "history" a channel's negativity so far; "finished" and "removed" a call's end
// and its removal from the server's memory. Plain JS, no libraries; every text goes in through textContent.
"use strict";

// The server's bounds (SupervisorState.Limits.DEFAULTS), so that a page open for days stays as small as a new one.
const HISTORY_POINTS = 300;
const ALERTS_PER_CALL = 100;
const FRESH_MS = 10000;
const SVG = "http://www.w3.org/2000/svg";

const calls = new Map();
let ready = false;
let renderQueued = false;

function unwrap(union) {
  // Avro's JSON encoding writes a union's value as {"full.type.Name": value}.
  if (union && typeof union === "object" && !Array.isArray(union)) {
    const keys = Object.keys(union);
    if (keys.length === 1 && keys[0].includes(".")) {
      return union[keys[0]];
    }
  }
  return union;
}

function call(id) {
  let c = calls.get(id);
  if (!c) {
    c = {id, channels: new Map(), alerts: [], alertKeys: new Set(), summary: null, finished: false, el: null};
    calls.set(id, c);
  }
  return c;
}

function channel(c, name) {
  let ch = c.channels.get(name);
  if (!ch) {
    ch = {name, event: null, trend: null, session: null, history: []};
    c.channels.set(name, ch);
  }
  return ch;
}

function handle(m) {
  switch (m.kind) {
    case "reset":
      for (const c of calls.values()) {
        if (c.el) c.el.remove();
      }
      calls.clear();
      ready = false;
      schedule();
      break;
    case "ready":
      ready = true;
      break;
    case "history": {
      const c = call(m.sessionId);
      channel(c, m.channel).history = m.points.slice(-HISTORY_POINTS);
      dirty(c);
      break;
    }
    case "event": {
      const c = call(m.value.sessionId);
      channel(c, m.value.channel).event = m.value;
      dirty(c);
      break;
    }
    case "trend": {
      const t = m.value;
      const c = call(t.sessionId);
      const ch = channel(c, t.channel);
      if (t.kind === "SESSION_SUMMARY") {
        ch.session = unwrap(t.summary);
      } else {
        const last = ch.history.length ? ch.history[ch.history.length - 1][0] : -Infinity;
        if (t.timeMs > last) {
          ch.history.push([t.timeMs, t.negativity]);
          if (ch.history.length > HISTORY_POINTS) ch.history.shift();
        }
        ch.trend = t;
      }
      dirty(c);
      break;
    }
    case "alert": {
      const a = m.value;
      const c = call(a.sessionId);
      channel(c, a.channel);
      const key = [a.channel, a.kind, a.windowIndex, a.timeMs].join("|");
      if (!c.alertKeys.has(key)) {
        c.alertKeys.add(key);
        c.alerts.push({alert: a, arrived: ready ? Date.now() : 0});
        c.alerts.sort((x, y) => x.alert.timeMs - y.alert.timeMs);
        while (c.alerts.length > ALERTS_PER_CALL) {
          const dropped = c.alerts.shift().alert;
          c.alertKeys.delete([dropped.channel, dropped.kind, dropped.windowIndex, dropped.timeMs].join("|"));
        }
        if (ready) setTimeout(() => dirty(c), FRESH_MS + 50);
      }
      dirty(c);
      break;
    }
    case "summary": {
      const c = call(m.value.sessionId);
      if (!(c.summary && c.summary.kind === "FINAL" && m.value.kind !== "FINAL")) c.summary = m.value;
      dirty(c);
      break;
    }
    case "finished": {
      const c = call(m.sessionId);
      c.finished = true;
      dirty(c);
      break;
    }
    case "removed": {
      const c = calls.get(m.sessionId);
      if (c) {
        if (c.el) c.el.remove();
        calls.delete(m.sessionId);
      }
      schedule();
      break;
    }
  }
}

function dirty(c) {
  c.dirty = true;
  schedule();
}

function schedule() {
  if (!renderQueued) {
    renderQueued = true;
    requestAnimationFrame(render);
  }
}

// ---- drawing ---------------------------------------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") e.className = v;
    else e.setAttribute(k, v);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    e.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return e;
}

function clock(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
}

function byName(name) {
  return (a, b) => name(a).localeCompare(name(b));
}

function pct(x) {
  return Math.round(100 * x) + "%";
}

function lower(symbol) {
  return String(symbol).toLowerCase();
}

function alertText(a) {
  const start = a.kind === "NEGATIVE_SPIKE_START";
  return a.channel + " · " + (start ? "negative spike at " : "spike over at ") + clock(a.timeMs) +
      " · negativity " + a.score.toFixed(2) + (a.evidence ? " (" + lower(a.evidence.dominant) + ")" : "");
}

const EMOTIONS = ["angry", "sad", "happy", "neutral"];

function emotionShares(shares) {
  // One stacked bar; each part names its emotion and share (title), the text says it for readers and tests.
  const text = EMOTIONS.map(k => k + " " + pct(shares[k])).join(", ");
  const stack = el("span", {class: "shares", title: text, "aria-label": text});
  for (const k of EMOTIONS) {
    const part = el("span", {class: "share " + k, title: k + " " + pct(shares[k])});
    part.style.width = (100 * Math.max(0, shares[k])).toFixed(1) + "%";
    stack.append(part);
  }
  return stack;
}

function sparkline(points, threshold, w = 240, h = 40) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "sparkline");
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.setAttribute("width", w);
  svg.setAttribute("height", h);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("data-points", points.length);
  const y = v => (h - 2 - Math.max(0, Math.min(1, v)) * (h - 4)).toFixed(1);
  if (threshold !== null) {
    const line = document.createElementNS(SVG, "line");
    line.setAttribute("class", "threshold");
    line.setAttribute("x1", 0);
    line.setAttribute("x2", w);
    line.setAttribute("y1", y(threshold));
    line.setAttribute("y2", y(threshold));
    svg.append(line);
  }
  if (points.length) {
    const t0 = points[0][0], t1 = points[points.length - 1][0];
    const span = Math.max(1, t1 - t0);
    const x = t => (points.length === 1 ? w : ((t - t0) / span) * w).toFixed(1);
    const poly = document.createElementNS(SVG, "polyline");
    poly.setAttribute("points", points.map(p => x(p[0]) + "," + y(p[1])).join(" "));
    svg.append(poly);
    const last = points[points.length - 1];
    const dot = document.createElementNS(SVG, "circle");
    dot.setAttribute("cx", x(last[0]));
    dot.setAttribute("cy", y(last[1]));
    dot.setAttribute("r", 2.5);
    svg.append(dot);
  }
  return svg;
}

function alerting(c, name) {
  let on = false;
  for (const {alert} of c.alerts) {
    if (alert.channel === name) on = alert.kind === "NEGATIVE_SPIKE_START";
  }
  return on;
}

function threshold(c, name) {
  let t = null;
  for (const {alert} of c.alerts) {
    if (alert.channel === name && alert.kind === "NEGATIVE_SPIKE_START") t = alert.enterThreshold;
  }
  return t;
}

function callTimeMs(c) {
  let t = c.summary ? c.summary.durationMs : 0;
  for (const ch of c.channels.values()) {
    if (ch.trend) t = Math.max(t, ch.trend.timeMs);
    if (ch.event) t = Math.max(t, ch.event.windowEndMs);
    if (ch.session) t = Math.max(t, ch.session.durationMs);
  }
  return t;
}

function bar(cls, name, share, dataChannel) {
  const fill = el("span", {class: "fill"});
  fill.style.width = (100 * Math.max(0, Math.min(1, share))).toFixed(1) + "%";
  return el("div", {class: "talk-row " + cls, "data-channel": dataChannel, "data-share": share.toFixed(3)},
      el("span", {class: "name"}, name), el("span", {class: "bar"}, fill), el("span", {class: "pct"}, pct(share)));
}

function talkBars(summary) {
  if (!summary) {
    return el("div", {class: "talk pending"}, "talk time: no call summary yet");
  }
  const box = el("div", {class: "talk", "data-summary-kind": summary.kind});
  for (const ch of [...summary.channels].sort(byName(ch => ch.channel))) {
    box.append(bar("channel-talk", ch.channel, ch.talkShare, ch.channel));
  }
  box.append(bar("silence", "silence", summary.silenceShare, null));
  box.append(bar("overtalk", "overtalk", summary.overtalkShare, null));
  return box;
}

function alertList(c) {
  const list = el("ul", {class: "alerts"});
  const now = Date.now();
  for (const {alert, arrived} of c.alerts) {
    const start = alert.kind === "NEGATIVE_SPIKE_START";
    list.append(el("li", {
      class: "alert " + (start ? "start" : "end") + (arrived && now - arrived < FRESH_MS ? " fresh" : ""),
      "data-channel": alert.channel,
      "data-kind": alert.kind,
      "data-time-ms": alert.timeMs,
    }, alertText(alert)));
  }
  return list;
}

function liveCard(c) {
  const rows = el("table", {class: "channels"});
  let any = false;
  for (const ch of [...c.channels.values()].sort(byName(ch => ch.name))) {
    const on = alerting(c, ch.name);
    any = any || on;
    const e = ch.event;
    const label = e ? (e.speech ? lower(e.label) : "silence") : "–";
    const emotion = el("td", {class: "emotion", "data-label": label},
        el("span", {class: "label"}, label),
        e && e.speech ? el("span", {class: "prob"}, " " + pct(e.confidence)) : null);
    const neg = ch.trend ? ch.trend.negativity : null;
    rows.append(el("tr", {class: "channel" + (on ? " alerting" : ""), "data-channel": ch.name},
        el("td", {class: "name"}, ch.name),
        emotion,
        el("td", {class: "spark"}, sparkline(ch.history, threshold(c, ch.name))),
        el("td", {class: "negativity"}, neg === null ? "–" : neg.toFixed(2))));
  }
  const card = el("article", {class: "call live" + (any ? " alerting" : ""), "data-call": c.id},
      el("header", {},
          el("h3", {}, c.id),
          el("span", {class: "duration"}, clock(callTimeMs(c))),
          any ? el("span", {class: "badge"}, "negative spike") : null),
      rows,
      talkBars(c.summary),
      alertList(c));
  return card;
}

function metric(name, value, cls) {
  return el("div", {class: "metric " + cls}, el("dt", {}, name), el("dd", {}, value));
}

function finishedCard(c) {
  const s = c.summary && c.summary.kind === "FINAL" ? c.summary : null;
  const card = el("article", {class: "call finished", "data-call": c.id, "data-summary": s ? "final" : "channels"});
  card.append(el("header", {}, el("h3", {}, c.id), el("span", {class: "duration"}, clock(callTimeMs(c)))));
  const side = el("div", {class: "side"});
  if (s) {
    side.append(el("dl", {class: "metrics"},
        metric("silence", pct(s.silenceShare), "silence"),
        metric("overtalk", pct(s.overtalkShare), "overtalk"),
        metric("longest customer monologue", (s.longestCustomerMonologueMs / 1000).toFixed(1) + " s", "monologue")));
    side.append(talkBars(s));
  } else {
    side.append(el("p", {class: "talk pending"}, "no call summary: talk time unknown"));
  }
  const table = el("table", {class: "summary"},
      el("tr", {}, ...["channel", "talk", "interruptions", "speech level", "dominant", "emotions", "negativity",
        "peak", "alerts"].map(h => el("th", {}, h))));
  const names = (s ? s.channels.map(ch => ch.channel) : [...c.channels.keys()]).sort();
  for (const name of names) {
    const conv = s ? s.channels.find(ch => ch.channel === name) : null;
    const session = c.channels.has(name) ? c.channels.get(name).session : null;
    const shares = conv ? conv.emotionShare : session ? session.timeShare : null;
    const dominant = conv ? conv.dominant : session ? session.dominant : null;
    const peak = conv ? [conv.peakNegativity, conv.peakNegativityTimeMs]
        : session ? [session.peakNegativity, session.peakNegativityTimeMs] : null;
    const marks = conv ? conv.alerts : c.alerts.map(x => x.alert).filter(a => a.channel === name);
    const starts = marks.filter(a => a.kind === "NEGATIVE_SPIKE_START");
    table.append(el("tr", {class: "channel", "data-channel": name},
        el("td", {class: "name"}, name),
        el("td", {class: "talk-share"}, conv ? pct(conv.talkShare) : "–"),
        el("td", {class: "interruptions"}, conv ? conv.interruptions : "–"),
        el("td", {class: "level"}, conv ? conv.speechLevelDbfs.toFixed(1) + " dBFS" : "–"),
        el("td", {class: "dominant"}, dominant ? lower(dominant) : "–"),
        el("td", {class: "emotions"}, shares ? emotionShares(shares) : "–"),
        el("td", {class: "spark"}, sparkline(c.channels.has(name) ? c.channels.get(name).history : [],
            threshold(c, name), 120, 28)),
        el("td", {class: "peak"}, peak ? peak[0].toFixed(2) + " at " + clock(peak[1]) : "–"),
        el("td", {class: "alert-times"}, starts.length
            ? starts.map(a => clock(a.timeMs) + " (" + a.score.toFixed(2) + ")").join(", ") : "none")));
  }
  card.append(el("div", {class: "body"}, side, el("div", {class: "detail"}, table, alertList(c))));
  return card;
}

function render() {
  renderQueued = false;
  const live = document.getElementById("live-calls");
  const done = document.getElementById("finished-calls");
  for (const c of calls.values()) {
    if (!c.dirty) continue;
    c.dirty = false;
    const card = c.finished ? finishedCard(c) : liveCard(c);
    if (c.el && c.el.parentNode === (c.finished ? done : live)) {
      c.el.replaceWith(card);
    } else {
      if (c.el) c.el.remove();
      if (c.finished) done.prepend(card);
      else live.append(card);
    }
    c.el = card;
  }
  let nLive = 0, nDone = 0;
  for (const c of calls.values()) {
    if (c.finished) nDone++;
    else nLive++;
  }
  document.getElementById("live-count").textContent = nLive;
  document.getElementById("finished-count").textContent = nDone;
  document.getElementById("live-empty").hidden = nLive > 0;
  document.getElementById("finished-empty").hidden = nDone > 0;
}

// ---- connection ------------------------------------------------------------------------------------------------

function status(state, text) {
  const s = document.getElementById("status");
  s.className = state;
  s.dataset.state = state;
  s.textContent = text;
}

function connect() {
  const source = new EventSource("events");
  source.onopen = () => status("connected", "live");
  source.onerror = () => status("reconnecting", "no connection: reconnecting…");
  source.onmessage = e => {
    try {
      handle(JSON.parse(e.data));
    } catch (err) {
      console.error("bad message", err, e.data);
    }
  };
}

connect();
