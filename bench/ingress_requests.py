#!/usr/bin/env python3
"""Writes COUNT signed Guesty deliveries for bench/ingress.lua: one per line, as
`svix-id <TAB> svix-timestamp <TAB> svix-signature <TAB> body`. Each has its own svix-id, so every
request takes the full path (verify, parse, dedupe, enqueue) rather than the duplicate shortcut.
Signed as Svix signs: HMAC-SHA256 over "{id}.{timestamp}.{body}" with the base64 key after whsec_."""
import base64, hashlib, hmac, sys, time

secret, count, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
key = base64.b64decode(secret[len("whsec_"):])
now = str(int(time.time()))
with open(path, "w") as out:
    for i in range(count):
        msg_id = f"msg_bench_{now}_{i}"
        body = ('{"event":"reservation.new","reservation":{"_id":"%024x","status":"confirmed",'
                '"checkIn":"2026-12-01T15:00:00.000Z","checkOut":"2026-12-05T10:00:00.000Z","confirmationCode":"GY-%d",'
                '"source":"airbnb2","listingId":"L1","guest":{"fullName":"Ada Lovelace","email":"ada@example.com",'
                '"phone":"+44 20 7946 0000"},"listing":{"_id":"L1","title":"Sea view loft"},'
                '"integration":{"platform":"airbnb2"},"money":{"currency":"EUR","fareAccommodation":640}}}') % (i, i)
        signature = base64.b64encode(hmac.new(key, f"{msg_id}.{now}.{body}".encode(), hashlib.sha256).digest()).decode()
        out.write(f"{msg_id}\t{now}\tv1,{signature}\t{body}\n")
