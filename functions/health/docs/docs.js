// CloudMind's API reference: renders the OpenAPI document the server serves (openapi.json, same origin) with DOM
// calls only (no HTML strings, no other origin, no eval), as the page's Content-Security-Policy requires.
"use strict";

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch"];

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name === "class") node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

// Text with `code` spans, as the document's descriptions write them.
function prose(text, tag, cls) {
  const node = el(tag || "p", cls ? { class: cls } : {});
  String(text || "").split(/(`[^`]*`)/).forEach((part) => {
    if (part.startsWith("`") && part.endsWith("`") && part.length > 1) node.append(el("code", {}, part.slice(1, -1)));
    else node.append(part);
  });
  return node;
}

function resolve(doc, object) {
  let seen = 0;
  while (object && object.$ref && seen++ < 8) {
    object = object.$ref.replace(/^#\//, "").split("/").reduce((o, key) => (o ? o[key] : undefined), doc);
  }
  return object || {};
}

function schemaName(schema) {
  if (!schema) return "";
  if (schema.$ref) return schema.$ref.split("/").pop();
  return schema.type || "object";
}

function parameters(doc, op) {
  const list = (op.parameters || []).map((p) => resolve(doc, p));
  if (list.length === 0) return null;
  const rows = list.map((p) =>
    el("tr", {}, el("td", {}, el("code", {}, p.name)), el("td", {}, p.in), el("td", {}, p.required ? "yes" : "no"),
      el("td", {}, prose(p.description, "span"))));
  return el("div", {}, el("h4", {}, "Parameters"),
    el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "name"), el("th", {}, "in"), el("th", {}, "required"),
      el("th", {}, "description"))), el("tbody", {}, ...rows)));
}

function requestBody(doc, op) {
  if (!op.requestBody) return null;
  const body = resolve(doc, op.requestBody);
  const media = Object.entries(body.content || {}).map(([type, m]) =>
    el("li", {}, el("code", {}, type), " ", schemaName(m.schema)));
  return el("div", {}, el("h4", {}, "Request body"), el("ul", {}, ...media));
}

function responses(doc, op) {
  const rows = Object.entries(op.responses || {}).map(([status, r]) => {
    const response = resolve(doc, r);
    return el("tr", {}, el("td", {}, el("code", {}, status)), el("td", {}, prose(response.description, "span")));
  });
  return el("div", {}, el("h4", {}, "Responses"), el("table", {}, el("tbody", {}, ...rows)));
}

function render(doc) {
  document.getElementById("title").textContent = doc.info.title;
  document.getElementById("version").textContent = "version " + doc.info.version + " · OpenAPI " + doc.openapi;
  const toc = document.getElementById("toc");
  const main = document.getElementById("operations");
  main.replaceChildren();
  const byTag = new Map();
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const tag = (op.tags && op.tags[0]) || "other";
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push({ path, method, op });
    }
  }
  for (const [tag, ops] of byTag) {
    const links = ops.map(({ method, path, op }) =>
      el("li", {}, el("a", { href: "#op-" + op.operationId }, method.toUpperCase() + " " + path)));
    toc.append(el("h2", {}, tag), el("ul", {}, ...links));
    for (const { method, path, op } of ops) {
      main.append(el("section", { class: "op", id: "op-" + op.operationId, "data-operation-id": op.operationId },
        el("h3", {}, el("span", { class: "method " + method }, method), el("span", { class: "path" }, path),
          el("span", { class: "summary" }, op.summary || ""), el("span", { class: "opid" }, op.operationId)),
        prose(op.description, "p", "description"), parameters(doc, op), requestBody(doc, op), responses(doc, op)));
    }
  }
  document.body.setAttribute("data-rendered", String(main.querySelectorAll("section.op").length));
}

fetch("openapi.json", { headers: { accept: "application/json" } })
  .then((r) => {
    if (!r.ok) throw new Error("openapi.json answered " + r.status);
    return r.json();
  })
  .then(render)
  .catch((e) => {
    document.getElementById("operations").replaceChildren(el("p", {}, "The API document could not be loaded: " + e.message));
    console.error(e);
  });
