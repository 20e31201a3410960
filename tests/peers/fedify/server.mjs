// A real Fedify (ActivityPub) peer for cara-fed's tests, driven over a small JSON control API.
//
// Usage: node server.mjs --port 0 --ready-file PATH [--username alice] [--contexts jsonld-contexts.json]
// It listens on 127.0.0.1, writes {"port": N, "origin": ...} to the ready file once it answers, and logs to stdout.
// Everything it knows lives in memory; nothing outside loopback is ever fetched (see guardFetch below).
import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import http from "node:http";
import { parseArgs } from "node:util";

import {
  createFederation,
  generateCryptoKeyPair,
  InProcessMessageQueue,
  MemoryKvStore,
  verifyObject,
} from "@fedify/fedify";
import {
  Accept,
  Activity,
  Announce,
  Create,
  Delete,
  Document,
  Endpoints,
  Follow,
  Image,
  isActor,
  Like,
  Link,
  Mention,
  Note,
  Object as APObject,
  Person,
  PUBLIC_COLLECTION,
  Reject,
  Tombstone,
  traverseCollection,
  Undo,
  Update,
} from "@fedify/vocab";
import { Temporal } from "@js-temporal/polyfill";
import { configure, getConsoleSink } from "@logtape/logtape";

const { values: args } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    "ready-file": { type: "string" },
    username: { type: "string", default: "alice" },
    contexts: { type: "string" },
    "log-level": { type: "string", default: process.env.FEDIFY_PEER_LOG_LEVEL ?? "info" },
  },
});

await configure({
  contextLocalStorage: new AsyncLocalStorage(),
  sinks: { console: getConsoleSink() },
  loggers: [
    { category: "fedify", sinks: ["console"], lowestLevel: args["log-level"] },
    { category: ["logtape", "meta"], sinks: ["console"], lowestLevel: "warning" },
  ],
});

function log(message, extra) {
  const line = `${new Date().toISOString()} [peer] ${message}`;
  console.log(extra === undefined ? line : `${line} ${JSON.stringify(extra)}`);
}

// ---------------------------------------------------------------------------------------------------------
// Network guard: only loopback is reached; standard JSON-LD contexts are served from a local file.

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);
const contexts = args.contexts ? JSON.parse(readFileSync(args.contexts, "utf8")) : {};
const outgoing = []; // every HTTP request Fedify made (method, url, signature scheme, status)
const blocked = []; // URLs outside loopback that something tried to fetch
const realFetch = globalThis.fetch;

function signatureScheme(headers) {
  if (headers.get("signature-input")) return "rfc9421";
  if (headers.get("signature")) return "draft-cavage";
  return null;
}

globalThis.fetch = async function guardedFetch(input, init) {
  const request = input instanceof Request ? input : new Request(input, init);
  const url = new URL(request.url);
  if (!LOOPBACK.has(url.hostname)) {
    const key = url.href.replace(/#.*$/, "");
    if (request.method === "GET" && key in contexts) {
      log(`served JSON-LD context ${key} from the local file`);
      return new Response(JSON.stringify(contexts[key]), {
        status: 200,
        headers: { "Content-Type": "application/ld+json" },
      });
    }
    blocked.push({ method: request.method, url: url.href, at: new Date().toISOString() });
    log(`BLOCKED a request outside loopback: ${request.method} ${url.href}`);
    throw new TypeError(`fedify peer: refusing to reach ${url.href} (tests stay on loopback)`);
  }
  const entry = {
    method: request.method,
    url: url.href,
    signature: signatureScheme(request.headers),
    accept: request.headers.get("accept"),
    content_type: request.headers.get("content-type"),
    status: null,
    at: new Date().toISOString(),
  };
  outgoing.push(entry);
  try {
    const response = await realFetch(input, init);
    entry.status = response.status;
    log(`-> ${entry.method} ${entry.url} [${entry.signature ?? "unsigned"}] ${response.status}`);
    return response;
  } catch (error) {
    entry.status = `error: ${error.message}`;
    log(`-> ${entry.method} ${entry.url} failed: ${error.message}`);
    throw error;
  }
};

// ---------------------------------------------------------------------------------------------------------
// State (all in memory).

const actors = new Map(); // username -> actor state
const inbox = []; // accepted activities, newest last
const rejected = []; // activities Fedify refused (signature could not be verified)
const incoming = []; // every HTTP request the peer answered (except control calls)
const media = new Map(); // name -> { bytes, contentType }
const arrivals = new Map(); // activity id -> { raw, signature, keyId, recipient } of the request that brought it
const settings = { autoAccept: true, preferSharedInbox: true, authorizedFetch: false };
let origin = null;

function addActor(username, { name, summary } = {}) {
  if (!actors.has(username)) {
    actors.set(username, {
      username,
      name: name ?? username,
      summary: summary ?? `A Fedify test peer (${username}).`,
      keys: null,
      followers: new Map(), // actor id -> { id, inbox, sharedInbox, followId }
      pendingFollowers: new Map(), // actor id -> { id, inbox, sharedInbox, followId, follow }
      following: new Map(), // actor id -> { id, inbox, followId, state: pending | accepted | rejected }
      notes: new Map(), // note local id -> { note, create }
      aliases: [], // alsoKnownAs (actor IRIs), set by POST /_control/aliases
      movedTo: null, // movedTo (an actor IRI)
    });
  }
  return actors.get(username);
}

addActor(args.username);
keyPairs(args.username); // start now, in the background: the first fetch of the actor need not wait

async function keyPairs(username) {
  // RSA 4096 (what Fedify makes; 0.3-3 s) for HTTP and LD signatures, Ed25519 for object integrity proofs.
  const actor = actors.get(username);
  actor.keys ??= Promise.all([generateCryptoKeyPair("RSASSA-PKCS1-v1_5"), generateCryptoKeyPair("Ed25519")]);
  return await actor.keys;
}

// ---------------------------------------------------------------------------------------------------------
// The federation.

const federation = createFederation({
  kv: new MemoryKvStore(),
  allowPrivateAddress: true, // loopback peers
  // Like a real server, the inbox answers 202 at once and listeners (and the Accepts they send) run after.
  // No outbox queue: sends made by control calls happen inside the call, so its answer says whether
  // delivery worked.
  queue: { inbox: new InProcessMessageQueue() },
});

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    const actor = actors.get(identifier);
    if (actor == null) return null;
    const keys = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: actor.name,
      summary: actor.summary,
      url: new URL(`/@${identifier}`, ctx.origin),
      inbox: ctx.getInboxUri(identifier),
      outbox: ctx.getOutboxUri(identifier),
      followers: ctx.getFollowersUri(identifier),
      following: ctx.getFollowingUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      manuallyApprovesFollowers: !settings.autoAccept,
      discoverable: true,
      publicKey: keys[0].cryptographicKey,
      assertionMethods: keys.map((key) => key.multikey),
      aliases: actor.aliases.map((uri) => new URL(uri)), // alsoKnownAs
      successor: actor.movedTo ? new URL(actor.movedTo) : null, // movedTo
    });
  })
  .setKeyPairsDispatcher(async (_ctx, identifier) => {
    if (!actors.has(identifier)) return [];
    return await keyPairs(identifier);
  });

function recipientOf(entry) {
  return {
    id: new URL(entry.id),
    inboxId: new URL(entry.inbox),
    endpoints: entry.sharedInbox ? { sharedInbox: new URL(entry.sharedInbox) } : null,
  };
}

federation
  .setFollowersDispatcher("/users/{identifier}/followers", (_ctx, identifier) => {
    const actor = actors.get(identifier);
    if (actor == null) return null;
    return { items: [...actor.followers.values()].map(recipientOf) };
  })
  .setCounter((_ctx, identifier) => actors.get(identifier)?.followers.size ?? 0);

federation
  .setFollowingDispatcher("/users/{identifier}/following", (_ctx, identifier) => {
    const actor = actors.get(identifier);
    if (actor == null) return null;
    const accepted = [...actor.following.values()].filter((entry) => entry.state === "accepted");
    return { items: accepted.map((entry) => new URL(entry.id)) };
  })
  .setCounter((_ctx, identifier) => {
    const actor = actors.get(identifier);
    return actor == null ? 0 : [...actor.following.values()].filter((e) => e.state === "accepted").length;
  });

federation
  .setOutboxDispatcher("/users/{identifier}/outbox", (_ctx, identifier) => {
    const actor = actors.get(identifier);
    if (actor == null) return null;
    return { items: [...actor.notes.values()].map((entry) => entry.create).reverse() };
  })
  .setCounter((_ctx, identifier) => actors.get(identifier)?.notes.size ?? 0);

federation
  .setObjectDispatcher(Note, "/users/{identifier}/notes/{id}", (_ctx, values) => {
    return actors.get(values.identifier)?.notes.get(values.id)?.note ?? null;
  })
  .authorize(async (ctx) => !settings.authorizedFetch || (await ctx.getSignedKeyOwner()) != null);

federation.setNodeInfoDispatcher("/nodeinfo/2.1", () => ({
  software: { name: "fedify-test-peer", version: "2.3.6" },
  protocols: ["activitypub"],
  openRegistrations: false,
  usage: { users: { total: actors.size }, localPosts: 0, localComments: 0 },
}));

// --- inbox -------------------------------------------------------------------------------------------------

function record(_ctx, activity) {
  const data = arrivals.get(activity.id?.href) ?? {};
  const raw = data.raw ?? null;
  const entry = {
    type: raw?.type ?? activity.constructor.name,
    id: activity.id?.href ?? null,
    actor: activity.actorId?.href ?? null,
    object: activity.objectId?.href ?? null,
    recipient: data.recipient ?? null,
    signature: data.signature ?? null, // HTTP signature scheme of the request: rfc9421 | draft-cavage | null
    key_id: data.keyId ?? null,
    ld_signature: raw != null && raw.signature != null,
    proof: raw != null && raw.proof != null,
    received_at: new Date().toISOString(),
    activity: raw,
  };
  inbox.push(entry);
  log(`inbox accepted ${entry.type} ${entry.id} from ${entry.actor}`);
  return entry;
}

function targetUsername(ctx, objectId, fallback) {
  if (objectId != null) {
    const parsed = ctx.parseUri(objectId);
    if (parsed?.type === "actor" && actors.has(parsed.identifier)) return parsed.identifier;
  }
  return fallback;
}

async function sendAccept(ctx, username, follower, follow, Type = Accept) {
  const accept = new Type({
    id: new URL(`/activities/${randomUUID()}`, ctx.origin),
    actor: ctx.getActorUri(username),
    object: follow,
    to: new URL(follower.id),
  });
  await ctx.sendActivity({ identifier: username }, recipientOf(follower), accept);
}

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .setSharedKeyDispatcher(() => ({ identifier: args.username }))
  .on(Follow, async (ctx, follow) => {
    record(ctx, follow);
    const username = targetUsername(ctx, follow.objectId, null);
    if (username == null || follow.actorId == null || follow.id == null) return;
    const remote = await follow.getActor(ctx);
    if (remote == null || remote.inboxId == null) return;
    const follower = {
      id: remote.id.href,
      inbox: remote.inboxId.href,
      sharedInbox: remote.endpoints?.sharedInbox?.href ?? null,
      followId: follow.id.href,
      follow,
    };
    const actor = actors.get(username);
    if (settings.autoAccept) {
      actor.followers.set(follower.id, follower);
      await sendAccept(ctx, username, follower, follow);
      log(`accepted follow from ${follower.id}`);
    } else {
      actor.pendingFollowers.set(follower.id, follower);
      log(`follow from ${follower.id} waits for approval`);
    }
  })
  .on(Accept, (ctx, accept) => {
    record(ctx, accept);
    settleFollow(accept, "accepted");
  })
  .on(Reject, (ctx, reject) => {
    record(ctx, reject);
    settleFollow(reject, "rejected");
  })
  .on(Undo, (ctx, undo) => {
    record(ctx, undo);
    const objectId = undo.objectId?.href;
    // By the Follow's id first: a follower of several of our actors ends only the follow it names. Only when
    // no id matches, an Undo of a Follow ends that sender's follows.
    const byId = (follower) => follower.followId === objectId;
    const anyById = [...actors.values()].some((actor) => [...actor.followers.values()].some(byId));
    for (const actor of actors.values()) {
      for (const [id, follower] of actor.followers) {
        if (anyById ? byId(follower) : id === undo.actorId?.href && objectIsFollow(undo)) {
          actor.followers.delete(id);
          log(`${id} stopped following ${actor.username}`);
        }
      }
    }
  })
  .on(Create, (ctx, activity) => void record(ctx, activity))
  .on(Update, (ctx, activity) => void record(ctx, activity))
  .on(Delete, (ctx, activity) => void record(ctx, activity))
  .on(Like, (ctx, activity) => void record(ctx, activity))
  .on(Announce, (ctx, activity) => void record(ctx, activity))
  .on(Activity, (ctx, activity) => void record(ctx, activity))
  .onUnverifiedActivity((_ctx, activity, reason) => {
    const data = arrivals.get(activity.id?.href) ?? {};
    const entry = {
      type: activity.constructor.name,
      id: activity.id?.href ?? null,
      actor: activity.actorId?.href ?? null,
      reason: reason?.type ?? String(reason),
      key_id: reason?.keyId?.href ?? data.keyId ?? null,
      signature: data.signature ?? null,
      received_at: new Date().toISOString(),
      activity: data.raw ?? null,
    };
    rejected.push(entry);
    log(`inbox REJECTED ${entry.type} ${entry.id}: ${entry.reason}`, { keyId: entry.key_id });
  })
  .onError((_ctx, error) => log(`inbox listener error: ${error?.stack ?? error}`));

function objectIsFollow(activity) {
  const raw = arrivals.get(activity.id?.href)?.raw;
  return typeof raw?.object === "object" && raw.object?.type === "Follow";
}

function settleFollow(activity, state) {
  // Like Mastodon, match the answer by the Follow's id, else by who answered while our follow is pending.
  const objectId = activity.objectId?.href ?? null;
  const from = activity.actorId?.href;
  for (const actor of actors.values()) {
    const entry = actor.following.get(from);
    if (entry == null) continue;
    if (entry.followId === objectId || entry.state === "pending") {
      entry.state = state;
      entry.follow_id_matched = entry.followId === objectId;
      log(`follow of ${entry.id} by ${actor.username} is ${state} (follow id matched: ${entry.follow_id_matched})`);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Control API (loopback only, JSON).

class ControlError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function controlContext() {
  return federation.createContext(new URL(origin), {});
}

function actorState(username) {
  const name = username ?? args.username;
  const actor = actors.get(name);
  if (actor == null) throw new ControlError(404, `no such actor: ${name}`);
  return actor;
}

async function resolveActor(ctx, username, uri) {
  if (!uri) throw new ControlError(400, "an actor URI is required");
  const documentLoader = await ctx.getDocumentLoader({ identifier: username });
  const object = await ctx.lookupObject(uri, { documentLoader });
  if (object == null) throw new ControlError(502, `could not fetch ${uri}`);
  if (!isActor(object)) throw new ControlError(400, `${uri} is not an actor (got ${object.constructor.name})`);
  if (object.id == null || object.inboxId == null) throw new ControlError(502, `${uri} has no id or inbox`);
  return object;
}

async function resolveAuthor(ctx, username, objectUri) {
  const documentLoader = await ctx.getDocumentLoader({ identifier: username });
  const object = await ctx.lookupObject(objectUri, { documentLoader });
  if (object == null) throw new ControlError(502, `could not fetch ${objectUri}`);
  const authorId = object.attributionId ?? object.actorId;
  if (authorId == null) throw new ControlError(502, `${objectUri} has no attributedTo`);
  return await resolveActor(ctx, username, authorId.href);
}

function activityId(ctx) {
  return new URL(`/activities/${randomUUID()}`, ctx.origin);
}

function buildAttachments(ctx, attachments = []) {
  return attachments.map((a) => {
    const Type = a.type === "Image" ? Image : Document;
    return new Type({
      url: new URL(a.url, ctx.origin),
      mediaType: a.mediaType ?? a.media_type ?? null,
      name: a.name ?? null,
      width: a.width ?? null,
      height: a.height ?? null,
    });
  });
}

async function deliver(ctx, username, recipients, activity, toFollowers) {
  const options = { preferSharedInbox: settings.preferSharedInbox };
  if (toFollowers) await ctx.sendActivity({ identifier: username }, "followers", activity, options);
  if (recipients.length > 0) await ctx.sendActivity({ identifier: username }, recipients, activity, options);
}

const routes = {
  "GET /_control/health": () => ({
    ok: true,
    origin,
    actor_id: `${origin}/users/${args.username}`,
    handle: `${args.username}@${new URL(origin).host}`,
  }),

  "GET /_control/settings": () => settings,
  "POST /_control/settings": (body) => {
    for (const key of ["autoAccept", "preferSharedInbox", "authorizedFetch"]) {
      if (key in body) settings[key] = Boolean(body[key]);
    }
    return settings;
  },

  "POST /_control/actors": (body) => {
    if (!body.username || !/^[a-z0-9_]+$/.test(body.username)) throw new ControlError(400, "bad username");
    addActor(body.username, body);
    keyPairs(body.username);
    return { actor_id: `${origin}/users/${body.username}`, handle: `${body.username}@${new URL(origin).host}` };
  },

  "POST /_control/aliases": (body) => {
    // The actor's alsoKnownAs (and movedTo), as a server shows them once its user set an alias or moved.
    const actor = actorState(body.actor);
    actor.aliases = [...(body.aliases ?? [])];
    actor.movedTo = body.moved_to ?? null;
    return { aliases: actor.aliases, moved_to: actor.movedTo };
  },

  "POST /_control/follow": async (body) => {
    const actor = actorState(body.actor);
    const ctx = controlContext();
    const target = await resolveActor(ctx, actor.username, body.target);
    const follow = new Follow({
      id: new URL(`/users/${actor.username}/follows/${randomUUID()}`, ctx.origin),
      actor: ctx.getActorUri(actor.username),
      object: target.id,
      to: target.id,
    });
    actor.following.set(target.id.href, {
      id: target.id.href,
      inbox: target.inboxId.href,
      sharedInbox: target.endpoints?.sharedInbox?.href ?? null,
      followId: follow.id.href,
      state: "pending",
    });
    await ctx.sendActivity({ identifier: actor.username }, target, follow);
    return { follow_id: follow.id.href, target: target.id.href, inbox: target.inboxId.href };
  },

  "POST /_control/unfollow": async (body) => {
    const actor = actorState(body.actor);
    const ctx = controlContext();
    const target = await resolveActor(ctx, actor.username, body.target);
    const entry = actor.following.get(target.id.href);
    if (entry == null) throw new ControlError(404, `${actor.username} does not follow ${target.id.href}`);
    const undo = new Undo({
      id: activityId(ctx),
      actor: ctx.getActorUri(actor.username),
      object: new Follow({ id: new URL(entry.followId), actor: ctx.getActorUri(actor.username), object: target.id }),
      to: target.id,
    });
    await ctx.sendActivity({ identifier: actor.username }, target, undo);
    actor.following.delete(target.id.href);
    return { undo_id: undo.id.href };
  },

  "POST /_control/follow-requests": async (body) => {
    // Answer a follow that waits for approval: {"follower": URI, "accept": true|false}
    const actor = actorState(body.actor);
    const follower = actor.pendingFollowers.get(body.follower);
    if (follower == null) throw new ControlError(404, `no pending follow from ${body.follower}`);
    actor.pendingFollowers.delete(body.follower);
    const ctx = controlContext();
    if (body.accept === false) {
      await sendAccept(ctx, actor.username, follower, follower.follow, Reject);
    } else {
      actor.followers.set(follower.id, follower);
      await sendAccept(ctx, actor.username, follower, follower.follow, Accept);
    }
    return { ok: true };
  },

  "POST /_control/notes": async (body) => {
    const actor = actorState(body.actor);
    const ctx = controlContext();
    const localId = randomUUID();
    const actorUri = ctx.getActorUri(actor.username);
    const followersUri = ctx.getFollowersUri(actor.username);
    const mentions = [];
    for (const uri of body.mentions ?? []) mentions.push(await resolveActor(ctx, actor.username, uri));
    const isPublic = body.public ?? true;
    const toFollowers = body.to_followers ?? true;
    const to = isPublic ? [PUBLIC_COLLECTION] : [];
    const cc = toFollowers ? [followersUri] : [];
    if (!isPublic) to.push(...mentions.map((m) => m.id));
    else cc.push(...mentions.map((m) => m.id));
    const published = Temporal.Now.instant();
    const noteId = ctx.getObjectUri(Note, { identifier: actor.username, id: localId });
    // A reply names what it answers (inReplyTo) and tags each mentioned actor, as Mastodon does.
    const mentionTags = mentions.map((m) => new Mention({
      href: m.id, name: `@${m.preferredUsername}@${m.id.host}`,
    }));
    const note = new Note({
      id: noteId,
      attribution: actorUri,
      replyTarget: body.in_reply_to ? new URL(body.in_reply_to) : null,
      tags: mentionTags,
      content: body.content ?? "",
      summary: body.summary ?? null,
      sensitive: body.sensitive ?? false,
      url: noteId,
      published,
      tos: to,
      ccs: cc,
      attachments: buildAttachments(ctx, body.attachments),
    });
    const create = new Create({
      id: new URL(`${noteId.href}/activity`),
      actor: actorUri,
      object: note,
      tos: to,
      ccs: cc,
      published,
    });
    actor.notes.set(localId, { note, create });
    await deliver(ctx, actor.username, mentions, create, toFollowers);
    return { id: noteId.href, create_id: create.id.href };
  },

  "POST /_control/notes/update": async (body) => {
    const actor = actorState(body.actor);
    const ctx = controlContext();
    const localId = body.id.split("/").pop();
    const entry = actor.notes.get(localId);
    if (entry == null) throw new ControlError(404, `no note ${body.id}`);
    const changes = { updated: Temporal.Now.instant() };
    if (body.content != null) changes.content = body.content;
    if (body.summary != null) changes.summary = body.summary;
    if (body.attachments != null) changes.attachments = buildAttachments(ctx, body.attachments);
    const note = entry.note.clone(changes);
    entry.note = note;
    const update = new Update({
      id: activityId(ctx),
      actor: ctx.getActorUri(actor.username),
      object: note,
      tos: note.toIds,
      ccs: note.ccIds,
    });
    await deliver(ctx, actor.username, [], update, true);
    return { id: note.id.href, update_id: update.id.href };
  },

  "POST /_control/notes/delete": async (body) => {
    const actor = actorState(body.actor);
    const ctx = controlContext();
    const localId = body.id.split("/").pop();
    const entry = actor.notes.get(localId);
    if (entry == null) throw new ControlError(404, `no note ${body.id}`);
    actor.notes.delete(localId);
    const del = new Delete({
      id: activityId(ctx),
      actor: ctx.getActorUri(actor.username),
      object: new Tombstone({ id: entry.note.id }),
      tos: entry.note.toIds,
      ccs: entry.note.ccIds,
    });
    await deliver(ctx, actor.username, [], del, true);
    return { delete_id: del.id.href };
  },

  // Fetch a Note as a fediverse server backfilling a thread does: up its inReplyTo chain to the root, then
  // down the root's `replies` collections (every page, every item dereferenced), depth first.
  "POST /_control/thread": async (body) => {
    const actor = actorState(body.actor);
    const ctx = controlContext();
    const documentLoader = await ctx.getDocumentLoader({ identifier: actor.username });
    const note = await ctx.lookupObject(body.uri, { documentLoader });
    if (note == null) throw new ControlError(502, `could not fetch ${body.uri}`);
    const summary = (object) => ({
      id: object.id?.href ?? null,
      type: object.constructor.name,
      inReplyTo: object.replyTargetId?.href ?? null,
      attributedTo: object.attributionId?.href ?? null,
      content: object.content == null ? null : String(object.content),
    });
    const ancestors = [];
    let root = note;
    while (root.replyTargetId != null && ancestors.length < 10) {
      const parent = await root.getReplyTarget({ documentLoader });
      if (parent == null) break;
      ancestors.push(summary(parent));
      root = parent;
    }
    const thread = [];
    const walk = async (object, depth) => {
      const replies = await object.getReplies({ documentLoader });
      if (replies == null || depth > 5) return;
      for await (const item of traverseCollection(replies, { documentLoader })) {
        const reply = item instanceof Link ? await ctx.lookupObject(item.href.href, { documentLoader }) : item;
        if (reply == null) continue;
        thread.push(summary(reply));
        await walk(reply, depth + 1);
      }
    };
    await walk(root, 0);
    return { note: summary(note), ancestors, root: summary(root), thread };
  },

  "POST /_control/like": async (body) => {
    const actor = actorState(body.actor);
    const ctx = controlContext();
    const author = await resolveAuthor(ctx, actor.username, body.object);
    const like = new Like({
      id: activityId(ctx),
      actor: ctx.getActorUri(actor.username),
      object: new URL(body.object),
      to: author.id,
    });
    await ctx.sendActivity({ identifier: actor.username }, author, like);
    return { like_id: like.id.href };
  },

  "POST /_control/announce": async (body) => {
    const actor = actorState(body.actor);
    const ctx = controlContext();
    const author = await resolveAuthor(ctx, actor.username, body.object);
    const announce = new Announce({
      id: activityId(ctx),
      actor: ctx.getActorUri(actor.username),
      object: new URL(body.object),
      to: PUBLIC_COLLECTION,
      ccs: [ctx.getFollowersUri(actor.username), author.id],
      published: Temporal.Now.instant(),
    });
    await deliver(ctx, actor.username, [author], announce, true);
    return { announce_id: announce.id.href };
  },

  "POST /_control/send": async (body) => {
    // Send any activity JSON (its actor must be one of ours) to the given actors and/or followers.
    const actor = actorState(body.actor);
    const ctx = controlContext();
    const json = { ...body.activity };
    json.id ??= activityId(ctx).href;
    json.actor ??= ctx.getActorUri(actor.username).href;
    const activity = await Activity.fromJsonLd(json, ctx);
    const recipients = [];
    for (const uri of body.to ?? []) recipients.push(await resolveActor(ctx, actor.username, uri));
    await deliver(ctx, actor.username, recipients, activity, body.to_followers ?? false);
    return { id: activity.id.href };
  },

  // FEP-8b32: run Fedify's own proof check (verifyObject: every proof verifies with its verificationMethod's
  // Multikey, and the keys' controllers cover the actor / attributedTo) on an activity we received (`id`) or
  // on any JSON (`activity`, e.g. a tampered copy). `object` checks the embedded object's own proof too.
  "POST /_control/verify": async (body) => {
    const ctx = controlContext();
    if (body.object != null) {
      // A document on its own (e.g. a Note fetched by IRI, as a boost names it).
      const options = { documentLoader: await ctx.getDocumentLoader({ identifier: args.username }), contextLoader: ctx.contextLoader };
      try {
        return { object: (await verifyObject(APObject, body.object, options)) != null };
      } catch (error) {
        log(`verifyObject failed: ${error?.stack ?? error}`);
        return { object: false };
      }
    }
    const raw = body.activity ?? inbox.find((entry) => entry.id === body.id)?.activity;
    if (raw == null) throw new ControlError(404, `nothing received with id ${body.id}`);
    const options = {
      documentLoader: await ctx.getDocumentLoader({ identifier: args.username }),
      contextLoader: ctx.contextLoader,
    };
    const verify = async (cls, json) => {
      try {
        return (await verifyObject(cls, json, options)) != null;
      } catch (error) {
        log(`verifyObject failed: ${error?.stack ?? error}`);
        return false;
      }
    };
    const embedded = raw.object;
    const hasObjectProof = embedded != null && typeof embedded === "object" && embedded.proof != null;
    return {
      activity: await verify(Activity, raw),
      object: hasObjectProof ? await verify(APObject, embedded) : null,
      proof: raw.proof ?? null,
    };
  },

  "GET /_control/inbox": () => inbox,
  "GET /_control/rejected": () => rejected,
  "GET /_control/requests": () => ({ incoming, outgoing, blocked }),
  "GET /_control/followers": (_body, query) => {
    const actor = actorState(query.get("actor"));
    return [...actor.followers.values()].map(({ id, inbox, sharedInbox, followId }) => ({
      id,
      inbox,
      shared_inbox: sharedInbox,
      follow_id: followId,
    }));
  },
  "GET /_control/follow-requests": (_body, query) => {
    const actor = actorState(query.get("actor"));
    return [...actor.pendingFollowers.values()].map(({ id, followId }) => ({ id, follow_id: followId }));
  },
  "GET /_control/following": (_body, query) => {
    const actor = actorState(query.get("actor"));
    return [...actor.following.values()];
  },
};

// ---------------------------------------------------------------------------------------------------------
// HTTP: node:http <-> WHATWG Request/Response.

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function sendJson(res, status, value) {
  const body = JSON.stringify(value);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

function isLoopback(address) {
  return address === "127.0.0.1" || address === "::1" || address === "::ffff:127.0.0.1";
}

function keyIdOf(headers) {
  const input = headers["signature"] ?? "";
  const cavage = input.match(/keyId="([^"]+)"/);
  if (cavage) return cavage[1];
  const rfc = (headers["signature-input"] ?? "").match(/keyid="([^"]+)"/);
  return rfc ? rfc[1] : null;
}

function rememberArrival(url, body, entry) {
  let raw;
  try {
    raw = JSON.parse(body.toString("utf8"));
  } catch {
    return;
  }
  if (typeof raw?.id !== "string") return;
  const recipient = url.pathname.match(/^\/users\/([^/]+)\/inbox$/)?.[1];
  arrivals.set(raw.id, {
    raw,
    signature: entry.signature,
    keyId: entry.key_id,
    recipient: recipient ? decodeURIComponent(recipient) : null,
  });
}

async function handle(req, res) {
  const url = new URL(req.url, origin);
  const body = await readBody(req);

  if (url.pathname.startsWith("/_control/")) {
    if (!isLoopback(req.socket.remoteAddress)) return sendJson(res, 403, { error: "loopback only" });
    const route = routes[`${req.method} ${url.pathname}`];
    if (route == null) return sendJson(res, 404, { error: `no control route ${req.method} ${url.pathname}` });
    try {
      if (url.pathname === "/_control/media" && req.method === "POST") return sendJson(res, 200, route(body, url));
      const payload = body.length ? JSON.parse(body.toString("utf8")) : {};
      return sendJson(res, 200, (await route(payload, url.searchParams)) ?? { ok: true });
    } catch (error) {
      log(`control ${req.method} ${url.pathname} failed: ${error?.stack ?? error}`);
      return sendJson(res, error instanceof ControlError ? error.status : 500, {
        error: String(error?.message ?? error),
        status: error?.statusCode ?? null,
      });
    }
  }

  const entry = {
    method: req.method,
    path: url.pathname + url.search,
    accept: req.headers["accept"] ?? null,
    content_type: req.headers["content-type"] ?? null,
    signature: req.headers["signature-input"] ? "rfc9421" : req.headers["signature"] ? "draft-cavage" : null,
    key_id: keyIdOf(req.headers),
    status: null,
    at: new Date().toISOString(),
  };
  incoming.push(entry);

  if (req.method === "GET" && url.pathname.startsWith("/media/")) {
    const item = media.get(decodeURIComponent(url.pathname.slice("/media/".length)));
    entry.status = item ? 200 : 404;
    if (item == null) return sendJson(res, 404, { error: "not found" });
    res.writeHead(200, { "Content-Type": item.contentType, "Content-Length": item.bytes.length });
    return res.end(item.bytes);
  }

  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    headers.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  const hasBody = req.method !== "GET" && req.method !== "HEAD" && body.length > 0;
  const request = new Request(url, { method: req.method, headers, body: hasBody ? body : undefined });
  if (req.method === "POST" && hasBody) rememberArrival(url, body, entry);
  const response = await federation.fetch(request, {
    contextData: {},
    onNotFound: () => new Response("Not found", { status: 404, headers: { "Content-Type": "text/plain" } }),
    onNotAcceptable: () => new Response("Not acceptable", { status: 406, headers: { "Content-Type": "text/plain" } }),
  });
  entry.status = response.status;
  log(`<- ${req.method} ${entry.path} [${entry.signature ?? "unsigned"}] ${response.status}`);
  const out = Buffer.from(await response.arrayBuffer());
  const outHeaders = {};
  response.headers.forEach((value, name) => {
    outHeaders[name] = value;
  });
  outHeaders["content-length"] = String(out.length);
  res.writeHead(response.status, outHeaders);
  res.end(out);
}

routes["POST /_control/media"] = (body, url) => {
  const name = url.searchParams.get("name");
  if (!name || !/^[A-Za-z0-9._-]+$/.test(name)) throw new ControlError(400, "bad media name");
  media.set(name, { bytes: body, contentType: url.searchParams.get("content_type") ?? "application/octet-stream" });
  return { url: `${origin}/media/${name}` };
};

const server = http.createServer((req, res) => {
  handle(req, res).catch((error) => {
    log(`request ${req.method} ${req.url} crashed: ${error?.stack ?? error}`);
    if (!res.headersSent) sendJson(res, 500, { error: String(error?.message ?? error) });
    else res.destroy();
  });
});

server.listen(Number(args.port), "127.0.0.1", () => {
  const { port } = server.address();
  origin = `http://127.0.0.1:${port}`;
  log(`Fedify peer listening on ${origin} as ${args.username}`);
  if (args["ready-file"]) {
    const temp = `${args["ready-file"]}.tmp`;
    writeFileSync(temp, JSON.stringify({ port, origin, pid: process.pid }));
    renameSync(temp, args["ready-file"]);
  }
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    log(`stopping on ${signal}`);
    server.close();
    process.exit(0);
  });
}
