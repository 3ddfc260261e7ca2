// The staging page: projects, a direct upload to storage with progress, staging, live status, before/after.

import { api, followEvents, h, newIdempotencyKey, say, showStars, startAppPage, uploadWithProgress } from "/static/api.js";

const $ = (id) => document.getElementById(id);
const state = { project: null, uploadKey: null, image: null, follow: null };
const LABEL = { queued: "Queued", processing: "Staging…", ready: "Ready", failed: "Failed", canceled: "Canceled" };
const ENDED = new Set(["ready", "failed", "canceled"]);

function notify(error) {
  say($("notice"), error ? error.message || String(error) : "");
}

const refreshStars = () => showStars($("stars"));

async function showApp() {
  $("auth").hidden = true;
  $("app").hidden = false;
  $("logout").hidden = false;
  await Promise.all([loadProjects(), refreshStars()]);
}

async function loadProjects() {
  const page = await api("/api/v1/projects?limit=100");
  const list = $("projects");
  // The list is drawn again when a project is opened or an image ends: the button a keyboard user
  // is on goes with the old list, so the same project's button is focused in the new one.
  const focused = list.contains(document.activeElement) ? document.activeElement.dataset.id : null;
  list.replaceChildren(
    ...page.items.map((p) =>
      h(
        "li",
        {},
        h(
          "button",
          { type: "button", class: p.id === state.project ? "active" : "", dataset: { id: p.id }, onclick: () => selectProject(p.id) },
          h("span", {}, p.name),
          h("span", { class: "muted small" }, String(p.image_count)),
        ),
      ),
    ),
  );
  if (focused) list.querySelector(`button[data-id="${focused}"]`)?.focus({ preventScroll: true });
  if (!state.project && page.items.length) await selectProject(page.items[0].id);
}

async function selectProject(id) {
  state.project = id;
  $("workspace").hidden = false;
  for (const button of $("projects").querySelectorAll("button")) button.classList.remove("active");
  await Promise.all([loadImages(), loadProjects()]);
}

let imageReads = 0; // reads of the image list so far: one answering late must not undo a newer one

async function loadImages() {
  if (!state.project) return;
  const read = ++imageReads;
  const page = await api(`/api/v1/projects/${state.project}/images?limit=100`);
  // A newer read (another project opened meanwhile, or this one read again) draws the list.
  if (read !== imageReads) return;
  $("images").replaceChildren(
    ...page.items.map((image) =>
      h(
        "li",
        {},
        h(
          "button",
          { type: "button", class: "image-card", onclick: () => showImage(image) },
          image.thumbnail_url || image.original_thumbnail_url
            ? h("img", { src: image.thumbnail_url || image.original_thumbnail_url, alt: "" })
            : h("span", { class: "placeholder" }, LABEL[image.status]),
          h(
            "span",
            { class: "caption" },
            h("span", {}, `${image.room_type.replace("_", " ")} · ${image.style.replace("_", "-")}`),
            h("span", { class: `status-${image.status}` }, LABEL[image.status]),
          ),
        ),
      ),
    ),
  );
}

async function chooseFile(file) {
  notify(null);
  if (!file) return;
  state.uploadKey = null;
  $("stage").disabled = true;
  $("upload-progress").hidden = false;
  $("upload-progress").value = 0;
  $("upload-status").textContent = `Uploading ${file.name}…`;
  try {
    const presigned = await api("/api/v1/uploads/presign", {
      method: "POST",
      body: { filename: file.name, content_type: file.type, size: file.size },
    });
    await uploadWithProgress(presigned, file, (pct) => {
      $("upload-progress").value = pct;
    });
    $("upload-progress").value = 100;
    state.uploadKey = presigned.key;
    $("upload-status").textContent = `${file.name} uploaded. Pick a room and a style, then stage it.`;
    $("stage").disabled = false;
  } catch (error) {
    $("upload-status").textContent = "";
    notify(error);
  }
}

function options() {
  return { room_type: $("room-type").value, style: $("style").value, quality: $("quality").value };
}

async function stage() {
  notify(null);
  $("stage").disabled = true;
  try {
    const accepted = await api("/api/v1/images", {
      method: "POST",
      headers: { "Idempotency-Key": newIdempotencyKey() },
      body: { project_id: state.project, upload_key: state.uploadKey, ...options() },
    });
    await follow(accepted);
  } catch (error) {
    notify(error);
  } finally {
    $("stage").disabled = !state.uploadKey;
  }
}

async function restage() {
  // Each restage is charged: a double click (or a click while one is on its way) sends one.
  if ($("restage").disabled) return;
  notify(null);
  $("restage").disabled = true;
  let accepted;
  try {
    accepted = await api(`/api/v1/images/${state.image.id}/restage`, {
      method: "POST",
      headers: { "Idempotency-Key": newIdempotencyKey() },
      body: options(),
    });
  } catch (error) {
    return notify(error);
  } finally {
    $("restage").disabled = false; // the viewer hides it until the new image is ready
  }
  try {
    await follow(accepted);
  } catch (error) {
    notify(error);
  }
}

async function follow(accepted) {
  state.follow?.abort();
  const controller = new AbortController();
  state.follow = controller;
  showImage({ id: accepted.image_id, status: accepted.status });
  await loadImages();
  // Each event starts a read of the image; they may answer out of order, and an older one (its
  // image still staging) must not be drawn over a newer one (ready). Nor is it drawn once the
  // person opened another image from the list: the viewer is theirs.
  let reads = 0;
  let drawn = 0;
  const check = async () => {
    const read = ++reads;
    const image = await api(`/api/v1/images/${accepted.image_id}`);
    if (state.follow === controller && read > drawn && state.image?.id === image.id) {
      drawn = read;
      showImage(image);
    }
    if (ENDED.has(image.status)) {
      controller.abort();
      await Promise.all([loadImages(), refreshStars(), loadProjects()]);
    }
  };
  // Live: the job's event stream wakes the page; each event re-reads the image (its links are fresh).
  try {
    await followEvents(`/api/v1/jobs/${accepted.job_id}/events`, () => check(), controller.signal);
  } catch {
    /* fall back to polling below */
  }
  while (!controller.signal.aborted) {
    await check();
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

function showImage(image) {
  state.image = image;
  $("viewer").hidden = false;
  const status = $("viewer-status");
  status.textContent = LABEL[image.status] || image.status;
  status.className = `badge status-${image.status}`;
  $("viewer-note").textContent =
    image.status === "failed"
      ? image.error?.message || "Staging failed."
      : image.status === "canceled"
        ? "Canceled: no stars were charged for it."
        : image.offline_preview
        ? "Offline preview: drawn on this server, not by an AI model."
        : "";
  const ready = image.status === "ready";
  $("compare").hidden = !ready;
  $("download").hidden = !ready;
  $("restage").hidden = !ready;
  if (ready) {
    $("before").src = image.original_url;
    $("after").src = image.staged_url;
    $("download").href = image.staged_url;
    slide();
  }
}

function slide() {
  const value = Number($("slider").value);
  $("before-clip").style.clipPath = `inset(0 ${100 - value}% 0 0)`;
}

function wire() {
  $("project-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const project = await api("/api/v1/projects", { method: "POST", body: { name: $("project-name").value } });
      $("project-name").value = "";
      await selectProject(project.id);
    } catch (error) {
      notify(error);
    }
  });
  $("file").addEventListener("change", () => chooseFile($("file").files[0]));
  const drop = $("drop");
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    chooseFile(event.dataTransfer.files[0]);
  });
  $("stage").addEventListener("click", stage);
  $("restage").addEventListener("click", restage);
  $("slider").addEventListener("input", slide);
}

wire();
startAppPage(showApp, notify);
