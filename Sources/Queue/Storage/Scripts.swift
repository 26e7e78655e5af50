import Redis

/// Every Lua script of the engine. Each outcome that touches more than one key, or must not race
/// another replica, runs as one script, so a crash never leaves half of it written.
///
/// Outcome scripts (ack, retry, bury, hand-off) act only on entries still pending *for the consumer
/// writing the outcome*: XACK alone ignores ownership, so a consumer cut off from Redis past the
/// visibility timeout, whose entry another consumer has claimed (and may be running or have
/// finished), would otherwise settle it under the other's feet — a success elsewhere could end in
/// the dead letters, or a job run a third time. Its late outcome is dropped instead.
enum Scripts {
    /// Lua shared by every script that acts on single entries of one consumer, so what "this
    /// consumer still owns the entry" means is written once: `owned(id)` is the entry's pending
    /// record (KEYS[1] stream, ARGV[1] group) when this consumer (ARGV[2]) owns it, else nil;
    /// `settle(id)` acknowledges and deletes the entry only then, and says whether it did.
    private static let ownership = """
        local function owned(id)
            local record = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)[1]
            if record and record[2] == ARGV[2] then return record end
            return nil
        end
        local function settle(id)
            if not owned(id) then return false end
            redis.call('XACK', KEYS[1], ARGV[1], id)
            redis.call('XDEL', KEYS[1], id)
            return true
        end
        """

    /// Lua shared by every script that writes a queue's history (`FinishedJob`): `remember(key,
    /// maxlen, record)` adds one record, keeping about the last `maxlen` (none when 0); `forget(key,
    /// maxlen, minid)` drops those older than `minid`, once per script. Trimming is approximate
    /// (`~`): Redis drops whole blocks of entries (`stream-node-max-entries`, 100), never fewer
    /// than asked are kept; exact trimming would move entries within a block on every add.
    private static let history = """
        local function remember(key, maxlen, record)
            if tonumber(maxlen) <= 0 or #record == 0 then return end
            redis.call('XADD', key, 'MAXLEN', '~', maxlen, '*', unpack(record))
        end
        local function forget(key, maxlen, minid)
            if tonumber(maxlen) > 0 then redis.call('XTRIM', key, 'MINID', '~', minid) end
        end
        """

    /// Acknowledges and deletes finished entries this consumer still owns, counting them in this
    /// minute's statistics. Ownership is read for the whole batch at once: this consumer's pending
    /// entries between the lowest and the highest id of the batch.
    /// Each acknowledged entry's history record is written; those of entries dropped are not.
    /// KEYS[1] stream, KEYS[2] this minute's statistics hash, KEYS[3] history. ARGV[1] group,
    /// ARGV[2] this consumer, ARGV[3] lowest entry id of the batch, ARGV[4] highest, ARGV[5] history
    /// cap, ARGV[6] oldest history id kept, ARGV[7] number of entries n, ARGV[8..7+n] entry ids,
    /// then per entry the number of its record's values and the values.
    /// Returns the number of entries acknowledged (the others had been settled or claimed elsewhere).
    static let ack = RedisScript(
        name: "ack",
        source: """
            \(history)
            local owned = {}
            for _, entry in ipairs(redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[4], 1000000, ARGV[2])) do
                owned[entry[1]] = true
            end
            local n = tonumber(ARGV[7])
            local mine = {}
            local records = {}
            local at = 8 + n
            for i = 1, n do
                local count = tonumber(ARGV[at])
                if owned[ARGV[7 + i]] then
                    mine[#mine + 1] = ARGV[7 + i]
                    if count > 0 then records[#records + 1] = { unpack(ARGV, at + 1, at + count) } end
                end
                at = at + count + 1
            end
            if #mine == 0 then return 0 end
            local acked = redis.call('XACK', KEYS[1], ARGV[1], unpack(mine))
            redis.call('XDEL', KEYS[1], unpack(mine))
            redis.call('HINCRBY', KEYS[2], 'processed', acked)
            redis.call('EXPIRE', KEYS[2], 3600)
            for _, record in ipairs(records) do remember(KEYS[3], ARGV[5], record) end
            forget(KEYS[3], ARGV[5], ARGV[6])
            return acked
            """)

    /// Moves a failed entry into the delayed set for a later attempt.
    /// KEYS[1] stream, KEYS[2] delayed set, KEYS[3] this minute's statistics hash, KEYS[4] history.
    /// ARGV[1] group, ARGV[2] this consumer, ARGV[3] entry id, ARGV[4] due time (unix ms), ARGV[5]
    /// the next attempt's envelope as a JSON array of field/value strings, ARGV[6] history cap,
    /// ARGV[7] oldest history id kept, ARGV[8..] the failed attempt's history record.
    /// Returns 1 when scheduled, 0 when the entry was no longer pending for this consumer.
    static let retry = RedisScript(
        name: "retry",
        source: """
            \(ownership)
            \(history)
            if not settle(ARGV[3]) then return 0 end
            redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])
            redis.call('HINCRBY', KEYS[3], 'failed', 1)
            redis.call('EXPIRE', KEYS[3], 3600)
            remember(KEYS[4], ARGV[6], { unpack(ARGV, 8) })
            forget(KEYS[4], ARGV[6], ARGV[7])
            return 1
            """)

    /// Moves a failed entry to the dead letters.
    /// KEYS[1] stream, KEYS[2] dead-letter stream, KEYS[3] this minute's statistics hash, KEYS[4]
    /// history. ARGV[1] group, ARGV[2] this consumer, ARGV[3] entry id, ARGV[4] history cap, ARGV[5]
    /// oldest history id kept, ARGV[6] the number of the history record's values k, ARGV[7..6+k]
    /// the record, ARGV[7+k..] the dead letter's field/value pairs.
    /// Returns the dead letter's entry id, or false when the entry was no longer pending for this consumer.
    static let bury = RedisScript(
        name: "bury",
        source: """
            \(ownership)
            \(history)
            if not settle(ARGV[3]) then return false end
            redis.call('HINCRBY', KEYS[3], 'failed', 1)
            redis.call('EXPIRE', KEYS[3], 3600)
            local k = tonumber(ARGV[6])
            if k > 0 then remember(KEYS[4], ARGV[4], { unpack(ARGV, 7, 6 + k) }) end
            forget(KEYS[4], ARGV[4], ARGV[5])
            return redis.call('XADD', KEYS[2], '*', unpack(ARGV, 7 + k))
            """)

    /// Settles an entry by enqueuing the job that follows it (the next stage of a flow). A next job
    /// with an idempotency key is enqueued only if no job with that key was handed on within the
    /// key's lifetime: the same stage of the same flow run twice (a redelivered webhook, a re-run
    /// flow) settles its entry without a second follow-up.
    /// The history record names the next job: the one enqueued, or the one enqueued before.
    /// KEYS[1] stream, KEYS[2] the next queue's stream, KEYS[3] the queue registry set, KEYS[4] this
    /// minute's statistics hash, KEYS[5] the next job's idempotency key (unused when ARGV[5] is 0),
    /// KEYS[6] history.
    /// ARGV[1] group, ARGV[2] this consumer, ARGV[3] entry id, ARGV[4] next queue name, ARGV[5] the
    /// key's lifetime in seconds (0: no key), ARGV[6] the next job's id, ARGV[7] history cap,
    /// ARGV[8] oldest history id kept, ARGV[9] the number of the history record's values k (its
    /// last value is the next job's id), ARGV[10..9+k] the record, ARGV[10+k..] the next
    /// envelope's fields.
    /// Returns the new entry's id, true when a follow-up with the same key already exists, or
    /// false when the entry was no longer pending for this consumer.
    static let handOff = RedisScript(
        name: "handoff",
        source: """
            \(ownership)
            \(history)
            if not settle(ARGV[3]) then return false end
            redis.call('HINCRBY', KEYS[4], 'processed', 1)
            redis.call('EXPIRE', KEYS[4], 3600)
            local k = tonumber(ARGV[9])
            local record = {}
            if k > 0 then record = { unpack(ARGV, 10, 9 + k) } end
            local ttl = tonumber(ARGV[5])
            if ttl > 0 and not redis.call('SET', KEYS[5], ARGV[6], 'NX', 'EX', ttl) then
                if k > 0 then record[k] = redis.call('GET', KEYS[5]) end
                remember(KEYS[6], ARGV[7], record)
                forget(KEYS[6], ARGV[7], ARGV[8])
                return true
            end
            remember(KEYS[6], ARGV[7], record)
            forget(KEYS[6], ARGV[7], ARGV[8])
            redis.call('SADD', KEYS[3], ARGV[4])
            return redis.call('XADD', KEYS[2], '*', unpack(ARGV, 10 + k))
            """)

    /// Gives entries this consumer abandoned at the end of its grace period back at once: their
    /// idle time is set past the visibility timeout, so the next reclaim pass of any replica takes
    /// them instead of waiting a whole timeout after every deploy, and the delivery that was cut off
    /// is not counted (it did not crash anything), so a redeploy never pushes a job towards poison.
    /// KEYS[1] stream. ARGV[1] group, ARGV[2] this consumer, ARGV[3] idle time to set (ms),
    /// ARGV[4..] entry ids. Returns the number given back.
    static let release = RedisScript(
        name: "release",
        source: """
            \(ownership)
            local released = 0
            for i = 4, #ARGV do
                local record = owned(ARGV[i])
                if record then
                    local deliveries = math.max(tonumber(record[4]) - 1, 0)
                    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'IDLE', ARGV[3], 'RETRYCOUNT', deliveries, 'JUSTID')
                    released = released + 1
                end
            end
            return released
            """)

    /// Reads back entries Redis handed to this consumer whose delivery never reached it (the reply
    /// to a read or a claim was lost to a timeout or a dropped connection), skipping those running
    /// here. Their delivery count is left as it is: the delivery that was lost is the one that now
    /// runs, so a job that never ran is not pushed towards poison. Entries deleted meanwhile leave
    /// the pending list (XCLAIM drops them).
    /// KEYS[1] stream. ARGV[1] group, ARGV[2] this consumer, ARGV[3] most to return, ARGV[4..] entry
    /// ids running here. Returns the entries, as XCLAIM gives them.
    static let recover = RedisScript(
        name: "recover",
        source: """
            local running = {}
            for i = 4, #ARGV do running[ARGV[i]] = true end
            local want = tonumber(ARGV[3])
            local found = {}
            for _, pending in ipairs(redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', want + #ARGV - 3, ARGV[2])) do
                if #found >= want then break end
                if not running[pending[1]] then
                    local claimed = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, pending[1], 'RETRYCOUNT', pending[4])
                    if claimed[1] then found[#found + 1] = claimed[1] end
                end
            end
            return found
            """)

    /// Moves due retries from the delayed set back onto the stream. Safe with any number of
    /// replicas: each member is removed in the same step that re-adds it. A member that is not an
    /// envelope (not a JSON array of an even number of strings, or one Redis refuses to add) is
    /// not dropped and does not stop promotion: it is quarantined in the dead letters as it was,
    /// with the reason.
    /// KEYS[1] delayed set, KEYS[2] stream, KEYS[3] dead-letter stream. ARGV[1] now (unix ms),
    /// ARGV[2] most to move, ARGV[3] the queue's name.
    /// Returns { number moved or quarantined, number quarantined }.
    static let promote = RedisScript(
        name: "promote",
        source: """
            local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
            local quarantined = 0
            for _, member in ipairs(due) do
                local ok, fields = pcall(cjson.decode, member)
                local problem = nil
                if not ok or type(fields) ~= 'table' then
                    problem = 'not a JSON array'
                elseif #fields < 2 or #fields % 2 ~= 0 or #fields > 200 then
                    problem = 'not field/value pairs'
                else
                    for i = 1, #fields do
                        if type(fields[i]) ~= 'string' then problem = 'a field that is not a string'; break end
                    end
                end
                if not problem then
                    local added = redis.pcall('XADD', KEYS[2], '*', unpack(fields))
                    if type(added) == 'table' and added.err then problem = 'refused by Redis: ' .. added.err end
                end
                if problem then
                    redis.call('XADD', KEYS[3], '*', 'queue', ARGV[3], 'error', 'malformed retry entry quarantined: ' .. problem,
                        'raw', member, 'first_failed_at', ARGV[1], 'last_failed_at', ARGV[1])
                    quarantined = quarantined + 1
                end
                redis.call('ZREM', KEYS[1], member)
            end
            return { #due, quarantined }
            """)

    /// Claims entries idle past the visibility timeout (their consumer died or hung) for this
    /// consumer, burying those delivered more often than the poison limit.
    /// KEYS[1] stream, KEYS[2] dead-letter stream, KEYS[3] this minute's statistics hash, KEYS[4] history.
    /// ARGV[1] group, ARGV[2] this consumer, ARGV[3] visibility timeout (ms), ARGV[4] most to claim, ARGV[5] poison limit (deliveries),
    /// ARGV[6] now (unix ms), ARGV[7] queue name, ARGV[8] scan cursor, ARGV[9] history cap, ARGV[10] oldest history id kept.
    /// Returns { next cursor, claimed entries (as XAUTOCLAIM gives them), number buried }.
    static let reclaim = RedisScript(
        name: "reclaim",
        source: """
            \(history)
            local claimed = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[8], 'COUNT', ARGV[4])
            local keep = {}
            local buried = 0
            local limit = tonumber(ARGV[5])
            for _, entry in ipairs(claimed[2]) do
                local id = entry[1]
                local fields = entry[2]
                local info = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)
                local deliveries = 0
                if info[1] then deliveries = tonumber(info[1][4]) end
                if fields and deliveries > limit then
                    local letter = {}
                    for i = 1, #fields do letter[i] = fields[i] end
                    local n = #letter
                    letter[n + 1] = 'queue'; letter[n + 2] = ARGV[7]
                    letter[n + 3] = 'error'
                    letter[n + 4] = 'poison: delivered ' .. (deliveries - 1) .. ' times without an outcome (limit ' .. limit .. '); its consumer crashed or hung each time'
                    letter[n + 5] = 'first_failed_at'; letter[n + 6] = ARGV[6]
                    letter[n + 7] = 'last_failed_at'; letter[n + 8] = ARGV[6]
                    letter[n + 9] = 'deliveries'; letter[n + 10] = tostring(deliveries - 1)
                    redis.call('XADD', KEYS[2], '*', unpack(letter))
                    local found = {}
                    for i = 1, #fields, 2 do found[fields[i]] = fields[i + 1] end
                    if found['id'] and found['kind'] then
                        remember(KEYS[4], ARGV[9], { 'id', found['id'], 'flow', found['flow'] or found['id'], 'kind', found['kind'],
                            'outcome', 'dead', 'attempt', found['attempt'] or '1', 'enqueued_at', found['enqueued_at'] or '0', 'ms', '0',
                            'error', letter[n + 4] })
                    end
                    redis.call('XACK', KEYS[1], ARGV[1], id)
                    redis.call('XDEL', KEYS[1], id)
                    buried = buried + 1
                elseif fields then
                    keep[#keep + 1] = entry
                end
            end
            if buried > 0 then
                redis.call('HINCRBY', KEYS[3], 'failed', buried)
                redis.call('EXPIRE', KEYS[3], 3600)
                forget(KEYS[4], ARGV[9], ARGV[10])
            end
            return { claimed[1], keep, buried }
            """)

    /// Renews this consumer's lease on entries it is still running: resets their idle time
    /// (XCLAIM … JUSTID, which leaves the delivery count alone) so no reclaimer takes a job from a
    /// live consumer, however long the job runs. Entries another consumer has meanwhile claimed are
    /// left to it.
    /// KEYS[1] stream. ARGV[1] group, ARGV[2] this consumer, ARGV[3..] entry ids.
    /// Returns the number renewed.
    static let heartbeat = RedisScript(
        name: "heartbeat",
        source: """
            \(ownership)
            local renewed = 0
            for i = 3, #ARGV do
                if owned(ARGV[i]) then
                    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
                    renewed = renewed + 1
                end
            end
            return renewed
            """)

    /// Removes consumers that own no pending entries and have been silent for longer than the given
    /// idle time (replicas that died and whose work was reclaimed). A consumer that still owns
    /// entries is never removed: its entries would vanish from the pending list.
    /// Redis 7.0 does not refresh a consumer's idle time while it blocks on an empty stream, so a
    /// live replica on a quiet queue may be removed too; harmless (it owns nothing), and the caller
    /// registers itself again here so every live consumer stays visible to operators.
    /// KEYS[1] stream. ARGV[1] group, ARGV[2] idle limit (ms), ARGV[3] the caller, never removed and
    /// (re)registered. Returns the removed names.
    static let removeIdleConsumers = RedisScript(
        name: "remove-idle-consumers",
        source: """
            local removed = {}
            local limit = tonumber(ARGV[2])
            for _, consumer in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
                local info = {}
                for i = 1, #consumer, 2 do info[consumer[i]] = consumer[i + 1] end
                if tonumber(info['pending']) == 0 and tonumber(info['idle']) > limit and info['name'] ~= ARGV[3] then
                    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], info['name'])
                    removed[#removed + 1] = info['name']
                end
            end
            if ARGV[3] ~= '' then redis.call('XGROUP', 'CREATECONSUMER', KEYS[1], ARGV[1], ARGV[3]) end
            return removed
            """)

    /// A consumer stopping cleanly leaves its group, unless it still owns entries (they would vanish
    /// from the pending list): `switchboard queues` then lists only the replicas that run.
    /// KEYS[1] stream. ARGV[1] group, ARGV[2] the consumer. Returns 1 left, 0 kept (it owns
    /// entries), -1 not a member (or no such group).
    static let leaveGroup = RedisScript(
        name: "leave-group",
        source: """
            local ok, consumers = pcall(redis.call, 'XINFO', 'CONSUMERS', KEYS[1], ARGV[1])
            if not ok then return -1 end
            for _, consumer in ipairs(consumers) do
                local info = {}
                for i = 1, #consumer, 2 do info[consumer[i]] = consumer[i + 1] end
                if info['name'] == ARGV[2] then
                    if tonumber(info['pending']) > 0 then return 0 end
                    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
                    return 1
                end
            end
            return -1
            """)

    /// Ingress's enqueue: refuses when the queue is at its high-water mark, and with a dedupe key
    /// sets the key and enqueues in one step, so a repeated key enqueues nothing. A duplicate is
    /// answered even when the queue is full: it needs no room.
    /// KEYS[1] dedupe key (unused when ARGV[1] is 0), KEYS[2] stream, KEYS[3] queue registry set.
    /// ARGV[1] dedupe TTL in seconds (0: no dedupe), ARGV[2] job id, ARGV[3] queue name,
    /// ARGV[4] high-water mark (0: none), ARGV[5..] envelope fields.
    /// Returns { 1, job id } when enqueued, { 0, first job's id } for a duplicate, { -1, length } when full.
    static let enqueueGuarded = RedisScript(
        name: "enqueue-guarded",
        source: """
            local ttl = tonumber(ARGV[1])
            if ttl > 0 then
                local existing = redis.call('GET', KEYS[1])
                if existing then return { 0, existing } end
            end
            local limit = tonumber(ARGV[4])
            if limit > 0 then
                local length = redis.call('XLEN', KEYS[2])
                if length >= limit then return { -1, tostring(length) } end
            end
            if ttl > 0 then redis.call('SET', KEYS[1], ARGV[2], 'EX', ttl) end
            redis.call('SADD', KEYS[3], ARGV[3])
            redis.call('XADD', KEYS[2], '*', unpack(ARGV, 5))
            return { 1, ARGV[2] }
            """)

    /// Puts a dead letter back on its queue as a new delivery, atomically: the letter is removed in
    /// the step that enqueues it, and a letter already removed (retried or dropped from another
    /// terminal) is not enqueued again.
    /// KEYS[1] dead-letter stream, KEYS[2] the queue's stream. ARGV[1] dead letter entry id,
    /// ARGV[2..] the new envelope's fields. Returns the new entry id, or false when the letter was gone.
    static let revive = RedisScript(
        name: "revive",
        source: """
            if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then return false end
            return redis.call('XADD', KEYS[2], '*', unpack(ARGV, 2))
            """)

    /// Takes or keeps a lease: renews it when `owner` holds it, takes it when nobody does.
    /// KEYS[1] lease key. ARGV[1] owner, ARGV[2] lease in milliseconds. Returns 1 if `owner` holds it now.
    static let holdLease = RedisScript(
        name: "hold-lease",
        source: """
            local holder = redis.call('GET', KEYS[1])
            if holder == ARGV[1] then
                redis.call('PEXPIRE', KEYS[1], ARGV[2])
                return 1
            end
            if not holder then
                redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
                return 1
            end
            return 0
            """)

    /// Gives a lease up, only if `owner` still holds it. KEYS[1] lease key, ARGV[1] owner.
    static let releaseLease = RedisScript(
        name: "release-lease",
        source: """
            if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
            return 0
            """)

    /// Replaces a value only if it is still the one the caller read (compare-and-set), so two
    /// attempts that both found a dead claim cannot both take it over.
    /// KEYS[1] the key. ARGV[1] the value expected, ARGV[2] the new value, ARGV[3] its lifetime in
    /// seconds. Returns 1 when replaced, 0 when the key held something else.
    static let swap = RedisScript(
        name: "swap",
        source: """
            if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
            redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
            return 1
            """)

    static let all = [
        swap, ack, retry, bury, handOff, release, recover, promote, reclaim, heartbeat, removeIdleConsumers, enqueueGuarded, revive,
        holdLease, releaseLease,
    ]
}
