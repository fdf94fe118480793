// The blazepose page: photo, video and webcam modes over the server's HTTP API. No build step.
"use strict";

const $ = (sel) => document.querySelector(sel);
let CONFIG = { limits: { image_bytes: Infinity, video_bytes: Infinity }, connections: [], sides: [] };

// ---- settings ---------------------------------------------------------------------------------
function options() {
  return {
    model: $("#opt-model").value,
    min_detection_confidence: parseFloat($("#opt-min-detection-confidence").value),
    min_tracking_confidence: parseFloat($("#opt-min-tracking-confidence").value),
    max_num_poses: $("#opt-max-num-poses").value,   // as typed: the server checks it (1..max)
    enable_segmentation: $("#opt-enable-segmentation").checked,
    smooth_landmarks: $("#opt-smooth-landmarks").checked,
  };
}

function formWith(file) {
  const fd = new FormData();
  fd.append("file", file, file.name || "upload");
  for (const [k, v] of Object.entries(options())) fd.append(k, String(v));
  return fd;
}

function setStatus(el, text, isError = false) {
  el.textContent = text;
  el.classList.toggle("error", isError);
}

async function errorText(resp) {
  try {
    const body = await resp.json();
    return body.error || JSON.stringify(body);
  } catch (_) {
    return `${resp.status} ${resp.statusText}`;
  }
}

function mb(bytes) { return (bytes / 1048576).toFixed(bytes < 1048576 ? 2 : 0) + " MB"; }

function saveBlob(blob, name) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.appendChild(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

function stem(name) { return (name || "upload").replace(/\.[^.]*$/, "") || "upload"; }

// ---- tabs -------------------------------------------------------------------------------------
for (const btn of document.querySelectorAll("#tabs button")) {
  btn.addEventListener("click", () => {
    for (const b of document.querySelectorAll("#tabs button")) b.setAttribute("aria-selected", String(b === btn));
    for (const p of document.querySelectorAll(".panel")) p.hidden = p.id !== "panel-" + btn.dataset.tab;
    if (btn.dataset.tab !== "webcam") stopCamera();
  });
}

function dropZone(zone, input, onFile) {
  input.addEventListener("change", () => { if (input.files[0]) onFile(input.files[0]); });
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    if (e.dataTransfer.files[0]) onFile(e.dataTransfer.files[0]);
  });
}

// ---- photo ------------------------------------------------------------------------------------
let photo = { file: null, doc: null, csv: "", seq: 0 };

async function runPhoto(file) {
  const status = $("#photo-status");
  if (file.size > CONFIG.limits.image_bytes) {
    setStatus(status, `${file.name}: ${mb(file.size)} is over the ${mb(CONFIG.limits.image_bytes)} limit`, true);
    return;
  }
  photo.file = file;
  const seq = ++photo.seq;
  const orig = $("#photo-original");
  if (orig.dataset.url) URL.revokeObjectURL(orig.dataset.url);
  orig.dataset.url = URL.createObjectURL(file);
  orig.src = orig.dataset.url;
  setStatus(status, `Finding landmarks in ${file.name} (${options().model} model)…`);
  const fd = formWith(file);
  fd.append("include", "annotated,csv");
  const t0 = performance.now();
  let resp;
  try {
    resp = await fetch("/api/image", { method: "POST", body: fd });
  } catch (e) {
    setStatus(status, `Upload failed: ${e}`, true);
    return;
  }
  if (seq !== photo.seq) return;               // a newer request replaced this one
  if (!resp.ok) {
    setStatus(status, await errorText(resp), true);
    $("#photo-result").hidden = true;
    return;
  }
  const doc = await resp.json();
  if (seq !== photo.seq) return;
  const png = doc.annotated_png;
  photo.csv = doc.csv || "";
  delete doc.annotated_png;
  delete doc.csv;
  photo.doc = doc;
  const img = doc.frames[0];
  const ann = $("#photo-annotated");
  ann.dataset.ready = "0";
  ann.onload = () => { ann.dataset.ready = "1"; };
  ann.src = "data:image/png;base64," + png;
  fillTable(img);
  draw3d($("#photo-3d"), $("#photo-3d-caption"), img);
  const n = img.people.length;
  setStatus(status, `${file.name}: ${img.image_width}×${img.image_height}, ${n} ${n === 1 ? "person" : "people"} found ` +
                    `in ${Math.round(performance.now() - t0)} ms (${doc.model} model).`);
  $("#photo-result").hidden = false;
}

function fmt(v, digits) { return v === null || v === undefined ? "" : String(v); }

function fillTable(img) {
  const body = $("#landmark-table tbody");
  body.replaceChildren();
  const minVis = 0.5;
  for (const person of img.people) {
    for (const lm of person.landmarks) {
      const tr = document.createElement("tr");
      tr.dataset.person = person.id;
      tr.dataset.landmark = lm.id;
      tr.className = (CONFIG.sides[lm.id] || "") + (lm.visibility < minVis ? " low" : "");
      for (const v of [person.id, lm.id, lm.name, fmt(lm.x), fmt(lm.y), fmt(lm.z), fmt(lm.visibility), fmt(lm.presence)]) {
        const td = document.createElement("td");
        td.textContent = v;
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
  }
}

// ---- 3-D view: plotly, served by this app from the installed plotly package ------------------
// View axes (metres), as blazepose.outputs.plot3d: x right, y up, z towards the camera, i.e. the
// world landmarks' (x, -y, -z). Several people are moved to their hips' place in the picture.
let plotlyLoading = null;

function loadPlotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!plotlyLoading) {
    plotlyLoading = new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = "/vendor/plotly.min.js";
      s.onload = () => resolve(window.Plotly);
      s.onerror = () => { plotlyLoading = null; reject(new Error("the 3-D view needs plotly on the server (pip install 'blazepose[web]')")); };
      document.head.appendChild(s);
    });
  }
  return plotlyLoading;
}

const SIDE_COLORS = { left: "rgb(255,138,0)", right: "rgb(0,150,255)", center: "rgb(110,110,110)" };
const ID_COLORS = ["rgb(230,25,75)", "rgb(60,180,75)", "rgb(255,225,25)", "rgb(0,130,200)", "rgb(245,130,48)",
                   "rgb(145,30,180)", "rgb(70,240,240)", "rgb(240,50,230)", "rgb(210,245,60)", "rgb(250,190,212)"];
const SCALE_SEGMENTS = [[11, 23], [12, 24], [23, 25], [24, 26], [25, 27], [26, 28], [11, 13], [12, 14], [11, 12]];

function metresPerPixel(lms) {
  let w = 0, px = 0;
  for (const [a, b] of SCALE_SEGMENTS) {
    if (b >= lms.length) continue;
    w += Math.hypot(lms[a].world_x - lms[b].world_x, lms[a].world_y - lms[b].world_y);
    px += Math.hypot(lms[a].x - lms[b].x, lms[a].y - lms[b].y);
  }
  return px > 0 ? w / px : 0;
}

// Two traces (bones, joints) per id in ``ids``, empty for an id not in this picture, so that the
// frames of a video all have the same traces.
function worldTraces(img, ids) {
  const traces = [];
  const many = ids.length > 1;
  for (const id of ids) {
    const person = (img.people || []).find((p) => p.id === id);
    const lms = person ? person.landmarks : [];
    let dx = 0, dy = 0;
    if (many && lms.length > 24) {
      const s = metresPerPixel(lms);
      dx = s * ((lms[23].x + lms[24].x) / 2 - img.image_width / 2);
      dy = -s * ((lms[23].y + lms[24].y) / 2 - img.image_height / 2);
    }
    const p = lms.map((l) => [l.world_x + dx, -l.world_y + dy, -l.world_z]);
    const line = { x: [], y: [], z: [] };
    for (const [a, b] of CONFIG.connections) {
      if (a >= p.length || b >= p.length) continue;
      for (const [k, c] of [["x", 0], ["y", 1], ["z", 2]]) line[k].push(p[a][c], p[b][c], null);
    }
    const color = many ? ID_COLORS[id % ID_COLORS.length] : "rgb(60,60,60)";
    traces.push({ type: "scatter3d", mode: "lines", name: `person ${id}`, ...line,
                  line: { color, width: 6 }, hoverinfo: "skip" });
    traces.push({ type: "scatter3d", mode: "markers", name: `person ${id} joints`, showlegend: false,
                  x: p.map((v) => v[0]), y: p.map((v) => v[1]), z: p.map((v) => v[2]),
                  text: lms.map((l) => l.name), hovertemplate: "%{text}<br>%{x:.3f}, %{y:.3f}, %{z:.3f} m<extra></extra>",
                  marker: { size: 3, color: lms.map((l) => SIDE_COLORS[CONFIG.sides[l.id]] || SIDE_COLORS.center) } });
  }
  return traces;
}

// A cube around every joint of every frame (so a video's view does not jump), y up on screen.
function layout3d(traceSets, many) {
  const lo = [Infinity, Infinity, Infinity], hi = [-Infinity, -Infinity, -Infinity];
  for (const traces of traceSets) {
    for (const t of traces) {
      if (t.mode !== "markers") continue;
      [t.x, t.y, t.z].forEach((vs, c) => { for (const v of vs) { lo[c] = Math.min(lo[c], v); hi[c] = Math.max(hi[c], v); } });
    }
  }
  const half = Math.max(0.5, ...hi.map((h, c) => (h - lo[c]) / 2 + 0.1));
  const axis = (c, title) => ({ title: { text: title }, zeroline: false,
                                range: [(lo[c] + hi[c]) / 2 - half, (lo[c] + hi[c]) / 2 + half] });
  return {
    margin: { l: 0, r: 0, t: 0, b: 0 }, showlegend: many, uirevision: "keep",
    scene: { xaxis: axis(0, "x (m), right"), yaxis: axis(1, "y (m), up"), zaxis: axis(2, "z (m), towards the camera"),
             aspectmode: "cube", camera: { up: { x: 0, y: 1, z: 0 }, eye: { x: 0.5, y: 0.35, z: 1.9 } } },
  };
}

async function draw3d(el, caption, img) {
  el.dataset.ready = "0";
  let Plotly;
  try {
    Plotly = await loadPlotly();
  } catch (e) {
    caption.textContent = String(e.message || e);
    return;
  }
  const ids = img.people.map((p) => p.id);
  const traces = worldTraces(img, ids);
  await Plotly.react(el, traces, layout3d([traces], ids.length > 1), { responsive: true, displaylogo: false });
  el.dataset.ready = "1";
}

// A video job's world landmarks, one animation frame per video frame, with a time slider.
async function drawVideo3d(el, caption, url) {
  el.dataset.ready = "0";
  let Plotly, doc;
  try {
    Plotly = await loadPlotly();
    const resp = await fetch(url);
    if (!resp.ok) throw new Error(await errorText(resp));
    doc = await resp.json();
  } catch (e) {
    caption.textContent = String(e.message || e);
    return;
  }
  const frames = (doc.frames || []).filter((f) => Array.isArray(f.people));   // skipped frames have none
  const ids = [...new Set(frames.flatMap((f) => f.people.map((p) => p.id)))].sort((a, b) => a - b);
  if (!ids.length) { caption.textContent = "Nobody found: no 3-D view"; return; }
  const data = frames.map((f) => worldTraces(f, ids));
  const layout = layout3d(data, ids.length > 1);
  const still = { mode: "immediate", frame: { duration: 0, redraw: true }, transition: { duration: 0 } };
  layout.sliders = [{ currentvalue: { prefix: "time " }, pad: { t: 10 },
                      steps: frames.map((f, i) => ({ method: "animate", args: [[String(i)], still],
                                                     label: f.timestamp_ms == null ? String(f.frame_index) : (f.timestamp_ms / 1000).toFixed(2) + " s" })) }];
  await Plotly.newPlot(el, data[0], layout, { responsive: true, displaylogo: false });
  await Plotly.addFrames(el, data.map((d, i) => ({ name: String(i), data: d })));
  el.dataset.frames = String(frames.length);
  el.dataset.ready = "1";
}

$("#download-json").addEventListener("click", () => {
  if (!photo.doc) return;
  saveBlob(new Blob([JSON.stringify(photo.doc, null, 1) + "\n"], { type: "application/json" }), stem(photo.file.name) + ".json");
});
$("#download-csv").addEventListener("click", () => {
  if (!photo.doc) return;
  saveBlob(new Blob([photo.csv], { type: "text/csv" }), stem(photo.file.name) + ".csv");
});
dropZone($("#photo-drop"), $("#photo-input"), runPhoto);

// ---- video ------------------------------------------------------------------------------------
let video = { job: null, xhr: null, timer: null };

function resetVideo() {
  if (video.timer) clearTimeout(video.timer);
  if (video.xhr) video.xhr.abort();
  video = { job: null, xhr: null, timer: null };
  $("#video-result").hidden = true;
  $("#video-player").removeAttribute("src");
}

function videoProgress(fraction, text) {
  $("#video-progress-box").hidden = false;
  $("#video-progress").value = fraction;
  $("#video-progress-text").textContent = text;
}

function runVideo(file) {
  const status = $("#video-status");
  resetVideo();
  if (file.size > CONFIG.limits.video_bytes) {
    setStatus(status, `${file.name}: ${mb(file.size)} is over the ${mb(CONFIG.limits.video_bytes)} limit`, true);
    return;
  }
  setStatus(status, "");
  const xhr = new XMLHttpRequest();
  video.xhr = xhr;
  xhr.open("POST", "/api/video");
  xhr.responseType = "json";
  xhr.upload.onprogress = (e) => {
    if (e.lengthComputable) videoProgress(e.loaded / e.total, `Uploading ${Math.round(100 * e.loaded / e.total)} %`);
  };
  xhr.onerror = () => { setStatus(status, "Upload failed (connection error)", true); $("#video-progress-box").hidden = true; };
  xhr.onload = () => {
    video.xhr = null;
    const body = xhr.response || {};
    if (xhr.status !== 202) {
      $("#video-progress-box").hidden = true;
      setStatus(status, body.error || `${xhr.status} ${xhr.statusText}`, true);
      return;
    }
    video.job = body.job_id;
    videoProgress(0, "Queued");
    pollJob(body.job_id, file.name);
  };
  xhr.send(formWith(file));
  videoProgress(0, "Uploading 0 %");
}

async function pollJob(id, name) {
  if (video.job !== id) return;
  const status = $("#video-status");
  let job;
  try {
    const resp = await fetch(`/api/jobs/${id}`);
    if (!resp.ok) { setStatus(status, await errorText(resp), true); $("#video-progress-box").hidden = true; return; }
    job = await resp.json();
  } catch (e) {
    video.timer = setTimeout(() => pollJob(id, name), 1000);
    return;
  }
  if (video.job !== id) return;
  if (job.state === "queued" || job.state === "running") {
    const total = job.frames_total ? ` of ${job.frames_total}` : "";
    videoProgress(job.progress, job.state === "queued" ? "Waiting for the previous video…"
                                                        : `Processing frame ${job.frames_done}${total}`);
    video.timer = setTimeout(() => pollJob(id, name), 400);
    return;
  }
  $("#video-progress-box").hidden = true;
  if (job.state !== "done" && !job.partial) {
    setStatus(status, job.error || `The job ended: ${job.state}`, true);
    return;
  }
  const player = $("#video-player");
  player.src = job.downloads.video;
  $("#video-download-video").href = job.downloads.video;
  $("#video-download-json").href = job.downloads.json;
  $("#video-download-csv").href = job.downloads.csv;
  $("#video-result").hidden = false;
  drawVideo3d($("#video-3d"), $("#video-3d-caption"), job.downloads.json);
  if (job.partial) setStatus(status, `${job.error} (the ${job.frames_done} frames before it are kept)`, true);
  else {
    const lost = job.frames_skipped ? `; ${job.frames_skipped} ${job.frames_skipped === 1 ? "frame" : "frames"} could not be decoded` : "";
    setStatus(status, `${name}: ${job.frames_done} frames, a person in ${job.frames_with_pose}${lost} (${job.options.model} model).`);
  }
  player.play().catch(() => {});
}

$("#video-cancel").addEventListener("click", async () => {
  const id = video.job;
  resetVideo();
  $("#video-progress-box").hidden = true;
  if (id) await fetch(`/api/jobs/${id}`, { method: "DELETE" });
  setStatus($("#video-status"), "Cancelled.");
});
$("#video-delete").addEventListener("click", async () => {
  const id = video.job;
  resetVideo();
  if (id) await fetch(`/api/jobs/${id}`, { method: "DELETE" });
  setStatus($("#video-status"), "Deleted from the server.");
});
dropZone($("#video-drop"), $("#video-input"), runVideo);

// ---- webcam -----------------------------------------------------------------------------------
let cam = { stream: null, ws: null, busy: false, times: [], grab: null };

async function startCamera() {
  const status = $("#cam-status");
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    setStatus(status, "This browser gives no camera access here (it needs https or localhost).", true);
    return;
  }
  try {
    cam.stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  } catch (e) {
    setStatus(status, `No camera: ${e.message || e.name}`, true);
    return;
  }
  const v = $("#cam-video");
  v.srcObject = cam.stream;
  await v.play();
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/live`);
  ws.binaryType = "arraybuffer";
  cam.ws = ws;
  cam.grab = document.createElement("canvas");
  ws.onopen = () => {
    ws.send(JSON.stringify({ options: options() }));
    setStatus(status, "Live: frames go to the server over a WebSocket; nothing is stored.");
    sendFrame();
  };
  ws.onmessage = (e) => {
    const msg = JSON.parse(e.data);
    if (msg.options) return;
    cam.busy = false;
    if (msg.error) setStatus(status, msg.error, true);
    else drawLive(msg);
    const now = performance.now();
    cam.times.push(now);
    while (cam.times.length && now - cam.times[0] > 2000) cam.times.shift();
    if (cam.times.length > 1) {
      const fps = (cam.times.length - 1) / ((cam.times[cam.times.length - 1] - cam.times[0]) / 1000);
      $("#cam-fps").textContent = `${fps.toFixed(1)} fps`;
    }
    if (msg.people) {
      $("#cam-people").textContent = `${msg.people.length} ${msg.people.length === 1 ? "person" : "people"} · ` +
        `${msg.ms} ms on the server${msg.tracked ? " (tracking)" : ""}`;
    }
    requestAnimationFrame(sendFrame);
  };
  ws.onclose = (e) => { if (cam.ws === ws) { setStatus(status, `Connection closed ${e.reason || ""}`, e.code !== 1000); stopCamera(); } };
  $("#cam-start").disabled = true;
  $("#cam-stop").disabled = false;
}

function sendFrame() {
  const v = $("#cam-video");
  if (!cam.ws || cam.ws.readyState !== WebSocket.OPEN || cam.busy || !v.videoWidth) {
    if (cam.ws && !v.videoWidth) setTimeout(sendFrame, 50);
    return;
  }
  const scale = Math.min(1, 640 / v.videoWidth);
  const c = cam.grab;
  c.width = Math.round(v.videoWidth * scale);
  c.height = Math.round(v.videoHeight * scale);
  c.getContext("2d").drawImage(v, 0, 0, c.width, c.height);
  cam.busy = true;
  c.toBlob((blob) => {
    if (blob && cam.ws && cam.ws.readyState === WebSocket.OPEN) cam.ws.send(blob);
    else cam.busy = false;
  }, "image/jpeg", 0.8);
}

function drawLive(msg) {
  const v = $("#cam-video");
  const c = $("#cam-overlay");
  if (c.width !== v.videoWidth || c.height !== v.videoHeight) { c.width = v.videoWidth; c.height = v.videoHeight; }
  const g = c.getContext("2d");
  g.clearRect(0, 0, c.width, c.height);
  const s = Math.max(c.width, c.height) / 640;
  const color = (i) => CONFIG.sides[i] === "left" ? "rgb(255,138,0)" : CONFIG.sides[i] === "right" ? "rgb(0,150,255)" : "#fff";
  for (const person of msg.people) {
    const p = person.landmarks.map(([x, y, , vis]) => [x * c.width, y * c.height, vis]);
    g.lineWidth = 3 * s;
    for (const [a, b] of CONFIG.connections) {
      if (a >= p.length || b >= p.length || p[a][2] < 0.5 || p[b][2] < 0.5) continue;
      g.strokeStyle = CONFIG.sides[a] === CONFIG.sides[b] ? color(a) : "#fff";
      g.beginPath(); g.moveTo(p[a][0], p[a][1]); g.lineTo(p[b][0], p[b][1]); g.stroke();
    }
    for (let i = 0; i < p.length; i++) {
      if (p[i][2] < 0.5) continue;
      g.fillStyle = color(i);
      g.beginPath(); g.arc(p[i][0], p[i][1], 4 * s, 0, 2 * Math.PI); g.fill();
      g.lineWidth = 1.5 * s; g.strokeStyle = "#000"; g.stroke();
    }
  }
}

function stopCamera() {
  if (cam.ws) { const ws = cam.ws; cam.ws = null; ws.close(1000); }
  if (cam.stream) for (const t of cam.stream.getTracks()) t.stop();
  cam = { stream: null, ws: null, busy: false, times: [], grab: null };
  $("#cam-start").disabled = false;
  $("#cam-stop").disabled = true;
  $("#cam-fps").textContent = "– fps";
  const c = $("#cam-overlay");
  c.getContext("2d").clearRect(0, 0, c.width, c.height);
}

$("#cam-start").addEventListener("click", startCamera);
$("#cam-stop").addEventListener("click", stopCamera);

// ---- settings changes -------------------------------------------------------------------------
let rerun = null;
function settingsChanged() {
  for (const o of document.querySelectorAll("#settings output")) {
    o.textContent = parseFloat(document.getElementById(o.getAttribute("for")).value).toFixed(2);
  }
  if (cam.ws && cam.ws.readyState === WebSocket.OPEN) cam.ws.send(JSON.stringify({ options: options() }));
  clearTimeout(rerun);
  if (photo.file) rerun = setTimeout(() => runPhoto(photo.file), 300);
}
for (const el of document.querySelectorAll("#settings input, #settings select")) el.addEventListener("change", settingsChanged);
for (const el of document.querySelectorAll("#settings input[type=range]")) {
  el.addEventListener("input", () => { el.nextElementSibling.textContent = parseFloat(el.value).toFixed(2); });
}

// ---- start ------------------------------------------------------------------------------------
fetch("/api/config").then((r) => r.json()).then((cfg) => {
  CONFIG = cfg;
  $("#opt-max-num-poses").max = String(cfg.limits.max_num_poses);   // the API's limit
  document.body.dataset.ready = "1";
}).catch(() => setStatus($("#photo-status"), "Cannot reach the server.", true));
