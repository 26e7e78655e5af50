"""Qdrant's REST paths, as Switchboard's QdrantClient calls them, over qdrant-client's local mode.

qdrant-client (PyPI, written by Qdrant's authors) carries an in-process Qdrant whose filters are
Qdrant's own semantics (must, must_not, should, nested filters, is_empty, match any); this server
puts the REST paths in front of it, so the Swift client is tested against the filter semantics a
real Qdrant applies, not against our reading of them. Request bodies are validated by Qdrant's own
models (an unknown field is refused with 400, as Qdrant does).

    python3 Tests/QdrantLocal/qdrant_rest.py --port 6333 --api-key KEY

GET /_requests answers every request received so far (method, path, body), for tests to assert
what was sent.
"""

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from pydantic import ValidationError
from qdrant_client import QdrantClient, models

client = QdrantClient(":memory:")
lock = threading.Lock()
received = []


def ok(result):
    return 200, {"result": result, "status": "ok", "time": 0.0001}


def error(status, message):
    return status, {"status": {"error": message}, "time": 0.0001}


def point_json(point, score=None):
    answer = {"id": str(point.id), "version": 0, "payload": point.payload}
    if score is not None:
        answer["score"] = score
    return answer


def selector(body):
    if "filter" in body:
        return models.FilterSelector(filter=models.Filter.model_validate(body["filter"]))
    return models.PointIdsList(points=body["points"])


def handle(method, path, body):
    parts = [part for part in path.split("/") if part]
    if len(parts) < 2 or parts[0] != "collections":
        return error(404, "Not found")
    name = parts[1]
    if len(parts) == 2:
        if method == "GET":
            if not client.collection_exists(name):
                return error(404, f"Not found: Collection `{name}` doesn't exist!")
            info = client.get_collection(name)
            vectors = info.config.params.vectors
            return ok({"status": "green", "config": {"params": {"vectors": {"size": vectors.size, "distance": vectors.distance.value}}}})
        if method == "PUT":
            if client.collection_exists(name):
                return error(409, f"Wrong input: Collection `{name}` already exists!")
            params = models.VectorParams.model_validate(body["vectors"])
            client.create_collection(name, vectors_config=params)
            return ok(True)
        return error(405, "method not allowed")
    if not client.collection_exists(name):
        return error(404, f"Not found: Collection `{name}` doesn't exist!")
    action = "/".join(parts[2:])
    if method == "PUT" and action == "points":
        points = [models.PointStruct.model_validate(point) for point in body["points"]]
        size = client.get_collection(name).config.params.vectors.size
        if any(len(point.vector) != size for point in points):
            return error(400, f"Wrong input: Vector dimension error: expected dim: {size}")
        client.upsert(name, points=points, wait=True)
        return ok({"operation_id": 0, "status": "completed"})
    if method != "POST":
        return error(405, "method not allowed")
    if action == "points/query":
        request = models.QueryRequest.model_validate(body)
        found = client.query_points(
            name,
            query=request.query,
            query_filter=request.filter,
            limit=request.limit or 10,
            with_payload=True,
            score_threshold=request.score_threshold,
        )
        return ok({"points": [point_json(point, point.score) for point in found.points]})
    if action == "points/delete":
        client.delete(name, points_selector=selector(body), wait=True)
        return ok({"operation_id": 0, "status": "completed"})
    if action == "points/payload":
        client.set_payload(name, payload=body["payload"], points=selector(body).filter if "filter" in body else body["points"], wait=True)
        return ok({"operation_id": 0, "status": "completed"})
    if action == "points/scroll":
        request = models.ScrollRequest.model_validate(body)
        points, following = client.scroll(
            name, scroll_filter=request.filter, limit=request.limit or 10, offset=request.offset, with_payload=True
        )
        return ok({"points": [point_json(point) for point in points], "next_page_offset": None if following is None else str(following)})
    if action == "points/count":
        request = models.CountRequest.model_validate(body)
        return ok({"count": client.count(name, count_filter=request.filter, exact=True).count})
    return error(404, "Not found")


class Handler(BaseHTTPRequestHandler):
    api_key = ""

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def serve(self):
        path = urlsplit(self.path).path
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if path == "/_requests":
            with lock:
                return self.answer(200, received)
        if self.headers.get("api-key") != self.api_key:
            return self.answer(401, {"status": {"error": "Must provide an API key or an Authorization bearer token"}})
        try:
            body = json.loads(raw) if raw else {}
        except ValueError as problem:
            return self.answer(400, {"status": {"error": f"Format error in JSON body: {problem}"}})
        with lock:
            received.append({"method": self.command, "path": path, "body": body})
            try:
                status, answer = handle(self.command, path, body)
            except (ValidationError, KeyError, TypeError, ValueError) as problem:
                status, answer = error(400, f"Format error in JSON body: {problem}")
        self.answer(status, answer)

    do_GET = do_PUT = do_POST = do_DELETE = serve

    def log_message(self, *args):
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api-key", required=True)
    options = parser.parse_args()
    Handler.api_key = options.api_key
    server = ThreadingHTTPServer(("127.0.0.1", options.port), Handler)
    # With --port 0 the kernel picks the port; the caller reads it from this line.
    print(f"listening on 127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
