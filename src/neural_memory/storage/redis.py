"""RedisStorage: the storage interface on a Redis server, shared by several processes.

Needs the ``redis`` extra (``pip install neural-memory-brain[redis]``, redis-py >= 5, asyncio
client). Several brains and several namespaces share one Redis database without seeing each
other. Redis Cluster is not supported (the write script touches the namespace's brain
directory and the brain's keys, which live in different slots).

Key layout (``{ns}`` is the namespace, ``P`` = ``{ns}:b:{<brain id, percent-encoded>}:``;
the braces delimit the id, so no brain's prefix is a prefix of another's)::

    {ns}:brains          hash    brain id -> Brain JSON (the directory of brains)
    {ns}:brain_order     zset    brain id by creation order (ties in list_brains); the
                                 score is the brain's generation (``BrainVersion``)
    {ns}:brain_ctr       string  counter feeding brain_order
    {ns}:layout          string  key layout version; opening a namespace of an older layout
                                 upgrades it (2: ``sb:`` sets filled for older fibers)
    P n                  hash    neuron id -> Neuron JSON
    P no / P ctr         zset / string   neuron insertion order ("oldest first") / its counter
    P s                  hash    synapse id -> Synapse JSON
    P sn:{neuron id}     set     ids of the synapses touching the neuron
    P linked             set     neurons with at least one synapse (orphan count)
    P f                  hash    fiber id -> Fiber JSON
    P fn:{neuron id}     set     ids of the fibers binding the neuron
    P flu                zset    fiber id by last_used (microseconds; oldest unused fiber)
    P t                  hash    typed memory id -> TypedMemory JSON
    P sb:{fiber id}      set     fibers whose superseded_by names the fiber
    P tf:{fiber id}      set     typed memories of a fiber
    P tp:{project id}    set     typed memories of a project
    P tx                 zset    typed memory id by expires_at (expired count)
    P p / P a / P m      hash    projects / alerts / metadata (key -> JSON)
    P vm                 set     names of the models with stored vectors
    P v:{model}          hash    fiber id -> vector (base64 of float32 little-endian bytes)
    P r / P rctr         zset / string   recall events by created_at (member: 16-digit
                                 insertion counter + JSON, so ties keep insertion order)
    P seq                string  the brain's change sequence (INCRBY)
    P rv                 string  the brain's record version (INCR by SAVE_BRAIN on a replace)
    P ix                 hash    the recall index's snapshot: seq, data (base64)
    P log                zset    change log: member ``seq|kind|id`` scored by seq, trimmed to
                                 ``CHANGE_LOG_LIMIT`` entries (shared with InMemoryStorage)

Atomicity: every :meth:`write` runs as one Lua script (EVALSHA through ``register_script``).
A script runs atomically on the server, so validation (AlreadyExistsError / NotFoundError,
checked before anything is written), the writes, the secondary indexes and the change log
form one all-or-nothing step across processes, in one round trip. Lua was chosen over
WATCH/MULTI/EXEC because an optimistic transaction would have to WATCH every key a batch
reads (each neuron, synapse and index) and needs at least three round trips, retried under
contention. ``synapse_deltas`` need the Synapse arithmetic of the core model (clamping,
reinforcement), which stays in Python: the current synapses are read (one HMGET), the new
ones computed, and the script stores them only if the stored JSON is still what was read
(compare-and-set), otherwise nothing is written and the write is retried. Two processes
reinforcing the same synapse therefore both count. A brain deleted by another process makes
later writes fail with BrainNotFoundError. Like any Lua script, a write is not rolled back if
Redis itself fails half-way (out of memory, killed); validation failures never write.

Reference checks (``storage/_integrity.py``) need the stored state the batch points to: one
MULTI/EXEC read (the brain's change seq first) before the script, whose verdict the script
applies only while the seq is unchanged, else the write is retried like a moved synapse.

Access deltas (``neuron_accesses``, ``fiber_conducts``) are applied the same way: the
records are read, updated in Python (``storage/_accesses.py``) and stored only if their JSON
is still what was read.

Round trips: a write is one EVALSHA, plus one read when it names fibers or synapses and one
more with ``synapse_deltas`` or access deltas; the script gets a small JSON
header plus each record's JSON as its own argument, so records are not escaped twice. Batch
reads are one command or one read-only script (index lookup + HMGET), statistics one
MULTI/EXEC pipeline. Timeouts and pool sizes go in the URL query
(``?socket_timeout=5&socket_connect_timeout=2``), as redis-py reads them from there.

The class is split by aggregate over three modules: the connection, its scripts and the read
helpers (``_redis_client.py``), typed memories, projects, alerts, recall events, meta values,
vectors and index snapshots (``_redis_knowledge.py``), and here brains, writes, graph reads,
the change log and statistics.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from datetime import datetime
from typing import TYPE_CHECKING

from neural_memory.core.brain import Brain
from neural_memory.core.events import BrainStats, BrainVersion, ChangeRecord
from neural_memory.core.fiber import Fiber
from neural_memory.core.neuron import Neuron
from neural_memory.core.synapse import Synapse
from neural_memory.errors import StorageError
from neural_memory.storage import memory as _memory
from neural_memory.storage._accesses import as_record_updates
from neural_memory.storage._integrity import (
    StoredReferences,
    fiber_references,
    synapse_references,
    synapse_users,
)
from neural_memory.storage._redis_client import opt_text
from neural_memory.storage._redis_codec import decode, encode, from_micros, micros
from neural_memory.storage._redis_knowledge import RedisKnowledgeStorage
from neural_memory.storage._redis_plan import (
    BrainKeys,
    CheckedReferences,
    WritePlan,
    delta_results,
    parse_change,
    raise_for_write_result,
)
from neural_memory.storage._write_common import deleted_synapse_ends
from neural_memory.storage.batch import WriteBatch
from neural_memory.storage.filters import FiberFilter, NeuronFilter, SynapseFilter

if TYPE_CHECKING:
    import redis.asyncio

__all__ = ["RedisStorage"]

_MAX_WRITE_ATTEMPTS = 200
_UNLINK_CHUNK = 500


class RedisStorage(RedisKnowledgeStorage):
    """Brains in a Redis server; several processes may share one brain.

    Args:
        url: Redis URL (``redis://[:password@]host:port/db``, ``rediss://``, ``unix://``).
        namespace: First segment of every key (letters, digits, ``_ . -``); storages with
            different namespaces never see each other's brains.
        client: An existing ``redis.asyncio.Redis`` to use instead of connecting to ``url``;
            it is not closed by :meth:`close`.
    """

    def __init__(
        self,
        url: str = "redis://localhost:6379/0",
        *,
        namespace: str = "nm",
        client: redis.asyncio.Redis | None = None,
    ) -> None:
        super().__init__(url, namespace=namespace, client=client)

    # -- brains ------------------------------------------------------------------------------

    async def _save_brain(self, brain: Brain) -> None:
        ns = self._namespace
        with self._errors():
            await self._run(
                "SAVE_BRAIN",
                [
                    self._brains_key,
                    f"{ns}:brain_order",
                    f"{ns}:brain_ctr",
                    self._keys(brain.id).key("rv"),
                ],
                [brain.id, encode(brain)],
            )

    async def _create_brain(self, brain: Brain, contents: WriteBatch) -> int:
        # One run of the write script: it creates the brain only once every check passed.
        ns = self._namespace
        keys = self._keys(brain.id)
        new_brain = (encode(brain), f"{ns}:brain_order", f"{ns}:brain_ctr")
        plan = WritePlan.of(contents)
        checked = CheckedReferences.of(contents, StoredReferences(), None)
        args = plan.args(
            brain.id, keys.prefix, _memory.CHANGE_LOG_LIMIT, new_brain=new_brain, checked=checked
        )
        with self._errors():
            result = await self._run("WRITE", [self._brains_key], args)
        seq = raise_for_write_result(brain.id, result)
        if seq is None:
            raise StorageError(f"the write script asked to retry creating brain {brain.id!r}")
        return seq

    async def _get_brain(self, brain_id: str) -> Brain | None:
        with self._errors():
            raw = await self._redis.hget(self._brains_key, brain_id)
        return decode(Brain, raw) if raw else None

    async def _get_brain_version(self, brain_id: str) -> BrainVersion | None:
        # One script (cheaper for the client than a MULTI/EXEC of four reads). The generation
        # is the brain's score in brain_order: a counter's value, never handed out twice.
        keys = self._keys(brain_id)
        order, seq, record = f"{self._namespace}:brain_order", keys.key("seq"), keys.key("rv")
        with self._errors():
            found = await self._run("VERSION", [self._brains_key, order, seq, record], [brain_id])
        if not found:
            return None
        return BrainVersion(int(found[0]), int(found[1]), int(float(found[2])))

    async def _list_brains(self) -> list[Brain]:
        with self._errors():
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.zrange(f"{self._namespace}:brain_order", 0, -1)
                pipe.hgetall(self._brains_key)
                order, raws = await pipe.execute()
        brains = [decode(Brain, raws[i]) for i in order if i in raws]
        return sorted(brains, key=lambda b: b.created_at)

    async def _delete_brain(self, brain_id: str) -> bool:
        keys = self._keys(brain_id)
        with self._errors():
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hdel(self._brains_key, brain_id)
                pipe.zrem(f"{self._namespace}:brain_order", brain_id)
                removed, _ = await pipe.execute()
            # Writes check the directory inside their script, so none lands after the HDEL.
            doomed: list[str] = []
            async for key in self._redis.scan_iter(match=keys.pattern, count=1000):
                doomed.append(key)
                if len(doomed) >= _UNLINK_CHUNK:
                    await self._redis.unlink(*doomed)
                    doomed.clear()
            if doomed:
                await self._redis.unlink(*doomed)
        return bool(removed)

    # -- graph writes --------------------------------------------------------------------------

    async def _write(self, brain_id: str, batch: WriteBatch) -> int:
        keys = self._keys(brain_id)
        # With access deltas the records they move are re-read, so the plan, every attempt.
        fixed_plan = None if batch.has_access_deltas else WritePlan.of(batch)
        delta_ids = list(dict.fromkeys(synapse_id for synapse_id, _ in batch.synapse_deltas))
        with self._errors():
            for attempt in range(_MAX_WRITE_ATTEMPTS):
                limit = _memory.CHANGE_LOG_LIMIT
                current, records, plan = batch, list[list[str]](), fixed_plan
                if plan is None:
                    current, records = await self._accesses_applied(keys, batch)
                    plan = WritePlan.of(current)
                checked = await self._check_references(keys, current)
                guard: list[list[object]] = []
                moved: list[list[str]] = []
                if delta_ids:
                    raws = await self._redis.hmget(keys.key("s"), delta_ids)
                    stored = {i: opt_text(raw) for i, raw in zip(delta_ids, raws, strict=True)}
                    guard, moved = delta_results(batch, stored)
                args = plan.args(
                    brain_id, keys.prefix, limit, guard, moved, checked=checked, records=records
                )
                result = await self._run("WRITE", [self._brains_key], args)
                seq = raise_for_write_result(brain_id, result)
                if seq is not None:
                    return seq
                await asyncio.sleep(random.random() * min(0.05, 0.001 * attempt))
        raise StorageError(
            f"gave up writing to brain {brain_id!r}: its records kept changing under "
            f"{_MAX_WRITE_ATTEMPTS} attempts"
        )

    async def _accesses_applied(
        self, keys: BrainKeys, batch: WriteBatch
    ) -> tuple[WriteBatch, list[list[str]]]:
        """``batch`` with its access deltas applied to the stored records, and their guard.

        The guard (key suffix, id, stored JSON) makes the write script retry when another
        process rewrote one of those records meanwhile, so no concurrent access is lost.
        """
        wanted = {
            "n": list(dict.fromkeys(neuron_id for neuron_id, _ in batch.neuron_accesses)),
            "f": list(dict.fromkeys(batch.fiber_conducts)),
        }
        queued = [(suffix, ids) for suffix, ids in wanted.items() if ids]
        async with self._redis.pipeline(transaction=False) as pipe:  # one round trip
            for suffix, ids in queued:
                pipe.hmget(keys.key(suffix), ids)
            replies = await pipe.execute()
        stored: dict[str, dict[str, str]] = {"n": {}, "f": {}}
        for (suffix, ids), raws in zip(queued, replies, strict=True):
            found = zip(ids, map(opt_text, raws), strict=True)
            stored[suffix] = {i: text for i, text in found if text is not None}
        guard = [[suffix, i, text] for suffix, found in stored.items() for i, text in found.items()]
        neurons = {i: decode(Neuron, text) for i, text in stored["n"].items()}
        fibers = {i: decode(Fiber, text) for i, text in stored["f"].items()}
        return as_record_updates(batch, neurons, fibers), guard

    def _applies_access_deltas(self) -> bool:
        return True

    async def _check_references(self, keys: BrainKeys, batch: WriteBatch) -> CheckedReferences:
        """Run :func:`refuse_dangling` on the stored state, read after the brain's change seq."""
        fiber_ids = sorted(fiber_references(batch))
        synapse_ids = sorted(synapse_references(batch))
        deleted = sorted(set(batch.delete_fiber_ids))
        if not (fiber_ids or synapse_ids or deleted):
            return CheckedReferences(None, None)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.get(keys.key("seq"))
            for fiber_id in fiber_ids:
                pipe.hexists(keys.key("f"), fiber_id)
            for fiber_id in deleted:
                pipe.smembers(keys.superseded_by(fiber_id))
            if synapse_ids:
                pipe.hmget(keys.key("s"), synapse_ids)
            replies = await pipe.execute()
        seq = opt_text(replies[0]) or "0"
        present = replies[1 : 1 + len(fiber_ids)]
        users = replies[1 + len(fiber_ids) : 1 + len(fiber_ids) + len(deleted)]
        found = [decode(Synapse, raw) for raw in (replies[-1] if synapse_ids else []) if raw]
        ends = {synapse.id: (synapse.source_id, synapse.target_id) for synapse in found}
        stored = StoredReferences(
            fibers=frozenset(i for i, yes in zip(fiber_ids, present, strict=True) if yes),
            synapse_ends=ends,
            successors={
                i: {opt_text(m) or "" for m in found}
                for i, found in zip(deleted, users, strict=True)
            },
            synapse_users=synapse_users(
                ends, batch.delete_synapse_ids, await self._fibers_joining(keys, ends, batch)
            ),
        )
        return CheckedReferences.of(batch, stored, seq)

    async def _fibers_joining(
        self, keys: BrainKeys, ends: dict[str, tuple[str, str]], batch: WriteBatch
    ) -> dict[str, frozenset[str]]:
        """The synapse ids of the stored fibers naming both ends of a synapse being deleted."""
        pairs = deleted_synapse_ends(ends, batch)
        if not pairs:
            return {}
        async with self._redis.pipeline(transaction=False) as pipe:
            for source, target in pairs:
                pipe.sinter(keys.fibers_of(source), keys.fibers_of(target))
            found = await pipe.execute()
        candidates = frozenset(opt_text(m) or "" for group in found for m in group)
        fibers = await self._hmget(Fiber, keys.key("f"), candidates) if candidates else {}
        return {fiber_id: fiber.synapse_ids for fiber_id, fiber in fibers.items()}

    # -- graph reads ---------------------------------------------------------------------------

    async def _get_neurons(self, brain_id: str, ids: frozenset[str]) -> dict[str, Neuron]:
        with self._errors():
            return await self._hmget(Neuron, self._keys(brain_id).key("n"), ids)

    async def _find_neurons(self, brain_id: str, query: NeuronFilter) -> list[Neuron]:
        if query.limit == 0:
            return []
        keys = self._keys(brain_id)
        unfiltered = query.type is None and query.content is None
        stop = query.limit - 1 if unfiltered and query.limit is not None else -1
        with self._errors():
            raws = await self._run("FETCH", [keys.key("n"), keys.key("no")], ["z", stop])
        neurons = (decode(Neuron, raw) for raw in raws)
        wanted = query.content.casefold() if query.content is not None else None
        found = (
            n
            for n in neurons
            if (query.type is None or n.type == query.type)
            and (wanted is None or n.content.casefold() == wanted)
        )
        return list(itertools.islice(found, query.limit))

    async def _get_synapses(self, brain_id: str, ids: frozenset[str]) -> dict[str, Synapse]:
        with self._errors():
            return await self._hmget(Synapse, self._keys(brain_id).key("s"), ids)

    async def _find_synapses(self, brain_id: str, query: SynapseFilter) -> list[Synapse]:
        keys = self._keys(brain_id)
        endpoint = query.source_id or query.target_id
        with self._errors():
            if endpoint is not None:
                pool = await self._fetch(Synapse, keys.key("s"), [keys.synapses_of(endpoint)])
            else:
                pool = await self._hvals(Synapse, keys.key("s"))
        found = [
            s
            for s in pool
            if (query.source_id is None or s.source_id == query.source_id)
            and (query.target_id is None or s.target_id == query.target_id)
            and (query.type is None or s.type == query.type)
        ]
        found.sort(key=lambda s: (s.created_at, s.id))
        return found[: query.limit] if query.limit is not None else found

    async def _synapses_touching(self, brain_id: str, neuron_ids: frozenset[str]) -> list[Synapse]:
        keys = self._keys(brain_id)
        index = [keys.synapses_of(n) for n in neuron_ids]
        with self._errors():
            found = await self._fetch(Synapse, keys.key("s"), index)
        return sorted(found, key=lambda s: s.id)

    async def _get_fibers(self, brain_id: str, ids: frozenset[str]) -> dict[str, Fiber]:
        with self._errors():
            return await self._hmget(Fiber, self._keys(brain_id).key("f"), ids)

    async def _find_fibers(self, brain_id: str, query: FiberFilter) -> list[Fiber]:
        keys = self._keys(brain_id)
        with self._errors():
            if query.neuron_id is not None:
                pool = await self._fetch(Fiber, keys.key("f"), [keys.fibers_of(query.neuron_id)])
            else:
                pool = await self._hvals(Fiber, keys.key("f"))
        found = sorted(
            (f for f in pool if _memory._fiber_matches(f, query)),
            key=lambda f: (f.created_at, f.id),
        )
        return found[: query.limit] if query.limit is not None else found

    # -- which ids exist -------------------------------------------------------------------

    async def _existing_neuron_ids(self, brain_id: str, ids: frozenset[str]) -> set[str]:
        return await self._hexisting(self._keys(brain_id).key("n"), ids)

    async def _existing_synapse_ids(self, brain_id: str, ids: frozenset[str]) -> set[str]:
        return await self._hexisting(self._keys(brain_id).key("s"), ids)

    # -- change log, statistics ------------------------------------------------------------

    async def _get_change_seq(self, brain_id: str) -> int:
        with self._errors():
            return int(await self._redis.get(self._keys(brain_id).key("seq")) or 0)

    async def _get_changes(self, brain_id: str, since: int) -> list[ChangeRecord] | None:
        keys = self._keys(brain_id)
        with self._errors():
            members = await self._run("CHANGES", [keys.key("seq"), keys.key("log")], [since])
        return None if members is None else [parse_change(m) for m in members]

    async def _get_stats(self, brain_id: str, now: datetime) -> BrainStats:
        keys = self._keys(brain_id)
        with self._errors():
            async with self._redis.pipeline(transaction=True) as pipe:
                for suffix in ("n", "s", "f", "t", "p"):
                    pipe.hlen(keys.key(suffix))
                pipe.scard(keys.key("linked"))
                pipe.zcount(keys.key("tx"), "-inf", micros(now))
                pipe.zrange(keys.key("flu"), 0, 0, withscores=True)
                pipe.get(keys.key("seq"))
                neurons, synapses, fibers, memories, projects, *rest = await pipe.execute()
        linked, expired, oldest, seq = rest
        return BrainStats(
            neuron_count=neurons,
            synapse_count=synapses,
            fiber_count=fibers,
            typed_memory_count=memories,
            project_count=projects,
            orphan_neuron_count=neurons - linked,
            expired_memory_count=expired,
            oldest_unused_fiber_at=from_micros(oldest[0][1]) if oldest else None,
            change_seq=int(seq or 0),
        )
