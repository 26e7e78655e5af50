/// Every Lua script of the engine. Each outcome that touches more than one key, or must not race
/// another replica, runs as one script, so a crash never leaves half of it written.
///
/// Outcome scripts (retry, bury, hand-off) act only when XACK removed the entry from the pending
/// list: if another consumer already settled the entry (after reclaiming it from us), a late
/// outcome from us is dropped instead of doubling the job.
enum Scripts {
    /// Acknowledges and deletes finished entries, counting them in this minute's statistics.
    /// KEYS[1] stream, KEYS[2] this minute's statistics hash. ARGV[1] group; ARGV[2..] entry ids.
    /// Returns the number of entries that were still pending.
    static let ack = Script(name: "ack", source: """
        local acked = redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, 2))
        redis.call('XDEL', KEYS[1], unpack(ARGV, 2))
        if acked > 0 then
            redis.call('HINCRBY', KEYS[2], 'processed', acked)
            redis.call('EXPIRE', KEYS[2], 3600)
        end
        return acked
        """)

    /// Moves a failed entry into the delayed set for a later attempt.
    /// KEYS[1] stream, KEYS[2] delayed set, KEYS[3] this minute's statistics hash. ARGV[1] group,
    /// ARGV[2] entry id, ARGV[3] due time (unix ms), ARGV[4] the next attempt's envelope as a JSON
    /// array of field/value strings.
    /// Returns 1 when scheduled, 0 when the entry was no longer pending.
    static let retry = Script(name: "retry", source: """
        if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
        redis.call('XDEL', KEYS[1], ARGV[2])
        redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
        redis.call('HINCRBY', KEYS[3], 'failed', 1)
        redis.call('EXPIRE', KEYS[3], 3600)
        return 1
        """)

    /// Moves a failed entry to the dead letters.
    /// KEYS[1] stream, KEYS[2] dead-letter stream, KEYS[3] this minute's statistics hash.
    /// ARGV[1] group, ARGV[2] entry id, ARGV[3..] the dead letter's field/value pairs.
    /// Returns the dead letter's entry id, or false when the entry was no longer pending.
    static let bury = Script(name: "bury", source: """
        if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return false end
        redis.call('XDEL', KEYS[1], ARGV[2])
        redis.call('HINCRBY', KEYS[3], 'failed', 1)
        redis.call('EXPIRE', KEYS[3], 3600)
        return redis.call('XADD', KEYS[2], '*', unpack(ARGV, 3))
        """)

    /// Settles an entry by enqueuing the job that follows it (the next stage of a flow). A next job
    /// with an idempotency key is enqueued only if no job with that key was handed on within the
    /// key's lifetime: the same stage of the same flow run twice (a redelivered webhook, a re-run
    /// flow) settles its entry without a second follow-up.
    /// KEYS[1] stream, KEYS[2] the next queue's stream, KEYS[3] the queue registry set, KEYS[4] this
    /// minute's statistics hash, KEYS[5] the next job's idempotency key (unused when ARGV[4] is 0).
    /// ARGV[1] group, ARGV[2] entry id, ARGV[3] next queue name, ARGV[4] the key's lifetime in
    /// seconds (0: no key), ARGV[5] the next job's id, ARGV[6..] the next envelope's fields.
    /// Returns the new entry's id, true when a follow-up with the same key already exists, or
    /// false when the entry was no longer pending.
    static let handOff = Script(name: "handoff", source: """
        if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return false end
        redis.call('XDEL', KEYS[1], ARGV[2])
        redis.call('HINCRBY', KEYS[4], 'processed', 1)
        redis.call('EXPIRE', KEYS[4], 3600)
        local ttl = tonumber(ARGV[4])
        if ttl > 0 then
            if not redis.call('SET', KEYS[5], ARGV[5], 'NX', 'EX', ttl) then return true end
        end
        redis.call('SADD', KEYS[3], ARGV[3])
        return redis.call('XADD', KEYS[2], '*', unpack(ARGV, 6))
        """)

    /// Moves due retries from the delayed set back onto the stream. Safe with any number of
    /// replicas: each member is removed in the same step that re-adds it.
    /// KEYS[1] delayed set, KEYS[2] stream. ARGV[1] now (unix ms), ARGV[2] most to move.
    /// Returns the number moved.
    static let promote = Script(name: "promote", source: """
        local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
        for _, member in ipairs(due) do
            local ok, fields = pcall(cjson.decode, member)
            if ok and type(fields) == 'table' and #fields >= 2 then
                redis.call('XADD', KEYS[2], '*', unpack(fields))
            end
            redis.call('ZREM', KEYS[1], member)
        end
        return #due
        """)

    /// Claims entries idle past the visibility timeout (their consumer died or hung) for this
    /// consumer, burying those delivered more often than the poison limit.
    /// KEYS[1] stream, KEYS[2] dead-letter stream, KEYS[3] this minute's statistics hash.
    /// ARGV[1] group, ARGV[2] this consumer, ARGV[3] visibility timeout (ms), ARGV[4] most to claim, ARGV[5] poison limit (deliveries),
    /// ARGV[6] now (unix ms), ARGV[7] queue name, ARGV[8] scan cursor.
    /// Returns { next cursor, claimed entries (as XAUTOCLAIM gives them), number buried }.
    static let reclaim = Script(name: "reclaim", source: """
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
        end
        return { claimed[1], keep, buried }
        """)

    /// Renews this consumer's lease on entries it is still running: resets their idle time
    /// (XCLAIM … JUSTID, which leaves the delivery count alone) so no reclaimer takes a job from a
    /// live consumer, however long the job runs. Entries another consumer has meanwhile claimed are
    /// left to it.
    /// KEYS[1] stream. ARGV[1] group, ARGV[2] this consumer, ARGV[3..] entry ids.
    /// Returns the number renewed.
    static let heartbeat = Script(name: "heartbeat", source: """
        local renewed = 0
        for i = 3, #ARGV do
            local info = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
            if info[1] and info[1][2] == ARGV[2] then
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
    static let removeIdleConsumers = Script(name: "remove-idle-consumers", source: """
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

    /// Ingress's enqueue: refuses when the queue is at its high-water mark, and with a dedupe key
    /// sets the key and enqueues in one step, so a repeated key enqueues nothing. A duplicate is
    /// answered even when the queue is full: it needs no room.
    /// KEYS[1] dedupe key (unused when ARGV[1] is 0), KEYS[2] stream, KEYS[3] queue registry set.
    /// ARGV[1] dedupe TTL in seconds (0: no dedupe), ARGV[2] job id, ARGV[3] queue name,
    /// ARGV[4] high-water mark (0: none), ARGV[5..] envelope fields.
    /// Returns { 1, job id } when enqueued, { 0, first job's id } for a duplicate, { -1, length } when full.
    static let enqueueGuarded = Script(name: "enqueue-guarded", source: """
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
    static let revive = Script(name: "revive", source: """
        if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then return false end
        return redis.call('XADD', KEYS[2], '*', unpack(ARGV, 2))
        """)

    /// Takes or keeps a lease: renews it when `owner` holds it, takes it when nobody does.
    /// KEYS[1] lease key. ARGV[1] owner, ARGV[2] lease in milliseconds. Returns 1 if `owner` holds it now.
    static let holdLease = Script(name: "hold-lease", source: """
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
    static let releaseLease = Script(name: "release-lease", source: """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """)

    static let all = [ack, retry, bury, handOff, promote, reclaim, heartbeat, removeIdleConsumers, enqueueGuarded, revive, holdLease, releaseLease]
}
