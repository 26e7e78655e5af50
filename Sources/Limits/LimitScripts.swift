import Redis

/// The limiter's Lua scripts. Each decision is one script, so replicas on any number of nodes see
/// one state and never race; the only clock is Redis's (`TIME`, microseconds), so replicas whose
/// clocks disagree still agree on the limit.
///
/// The rate is a GCRA over `tat` (the theoretical arrival time of the next call): a call is let
/// through while `tat - now` leaves room in the burst, and moves `tat` one interval on. A call
/// held back gets a time of its own to come back (`tail_<priority>`, one interval after the last
/// one handed out), so a backlog returns at the rate tokens are made, not all at once; a call whose
/// time would lie past the horizon is told to ask again then, and takes no place in the line (a
/// line longer than anyone waits would hand out times nobody keeps, and tokens would go unused). Times are
/// written with `%.0f`: Lua would print a microsecond clock in 14 digits and lose the last two.
enum LimitScripts {
    /// KEYS: limit hash, in-flight set. ARGV: interval µs (0: no rate), burst, concurrency (0: none),
    /// lease µs, holder, priority (`interactive`/`background`), horizon µs (the latest time to
    /// come back a refusal may name), the limit as text (kept for `switchboard queues`).
    /// Returns {1, 0, "ok", now µs} or {0, wait µs, reason} with reason `paused`, `priority`, `concurrency`, `rate`.
    ///
    /// A limit redeployed with another value takes effect at once: when the interval differs from
    /// the one the state was kept under, the bucket keeps how full it was (rescaled to the new
    /// interval) and the times handed out under the old one are forgotten.
    static let acquire = RedisScript(
        name: "limit-acquire",
        source: """
            local t = redis.call('TIME')
            local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
            local function text(x) return string.format('%.0f', x) end
            local interval = tonumber(ARGV[1])
            local burst = tonumber(ARGV[2])
            local concurrency = tonumber(ARGV[3])
            local background = ARGV[6] == 'background'
            local horizon = now + tonumber(ARGV[7])
            local state = redis.call('HMGET', KEYS[1], 'tat', 'paused_until', 'urgent_until', 'tail_' .. ARGV[6], 'interval', 'limit')
            local tat = tonumber(state[1]) or 0
            local paused = tonumber(state[2]) or 0
            local urgent = tonumber(state[3]) or 0
            local tail = tonumber(state[4]) or 0
            local kept = tonumber(state[5]) or 0
            if state[6] ~= ARGV[8] then redis.call('HSET', KEYS[1], 'limit', ARGV[8]) end
            if interval > 0 and kept ~= interval then
                if kept > 0 and tat > now then tat = now + (tat - now) / kept * interval end
                tail = 0
                redis.call('HSET', KEYS[1], 'interval', text(interval), 'tat', text(tat), 'tail_interactive', '0', 'tail_background', '0')
            end
            local function refuse(earliest, reason)
                local ticket = math.max(earliest, tail)
                if reason == 'rate' and earliest - now < interval / 2 then
                    -- Nearly its turn (a caller back at its time, a little before the bucket, which
                    -- moved on by how late the calls before it came): wait the rest, keep the place.
                    ticket = earliest
                elseif interval > 0 and reason ~= 'concurrency' then
                    if ticket <= horizon then
                        redis.call('HSET', KEYS[1], 'tail_' .. ARGV[6], text(ticket + interval))
                    else
                        -- Further off than anyone waits: ask again at the horizon, taking no place in line.
                        ticket = math.max(earliest, horizon)
                    end
                end
                if not background and reason ~= 'concurrency' then
                    redis.call('HSET', KEYS[1], 'urgent_until', text(math.max(urgent, ticket + math.max(interval, 1000))))
                end
                redis.call('HINCRBY', KEYS[1], 'held_' .. ARGV[6], 1)
                redis.call('HINCRBY', KEYS[1], 'held_' .. reason, 1)
                return {0, math.max(ticket - now, 1), reason}
            end
            if paused > now then return refuse(paused, 'paused') end
            if background and urgent > now then return refuse(urgent, 'priority') end
            if concurrency > 0 then
                redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
                if redis.call('ZCARD', KEYS[2]) >= concurrency then return refuse(now, 'concurrency') end
            end
            if interval > 0 then
                tat = math.max(tat, now)
                local reserve = 0
                if background then reserve = math.floor(burst / 4) end
                local allowance = (burst - 1 - reserve) * interval
                if tat - now > allowance then return refuse(tat - allowance, 'rate') end
                redis.call('HSET', KEYS[1], 'tat', text(tat + interval))
            end
            if concurrency > 0 then
                redis.call('ZADD', KEYS[2], text(now + tonumber(ARGV[4])), ARGV[5])
            end
            redis.call('HINCRBY', KEYS[1], 'granted', 1)
            return {1, 0, 'ok', now}
            """)

    /// KEYS: in-flight set. ARGV: holder. Frees the holder's concurrency slot.
    static let release = RedisScript(
        name: "limit-release",
        source: """
            return redis.call('ZREM', KEYS[1], ARGV[1])
            """)

    /// KEYS: limit hash. ARGV: pause µs. Pauses the service for every replica until now + pause
    /// (never shortens a longer pause); returns the pause's end (µs).
    static let pause = RedisScript(
        name: "limit-pause",
        source: """
            local t = redis.call('TIME')
            local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
            local ends = now + tonumber(ARGV[1])
            local current = tonumber(redis.call('HGET', KEYS[1], 'paused_until')) or 0
            if current < ends then
                redis.call('HSET', KEYS[1], 'paused_until', string.format('%.0f', ends))
                redis.call('HINCRBY', KEYS[1], 'pauses', 1)
                return ends
            end
            return current
            """)
}
