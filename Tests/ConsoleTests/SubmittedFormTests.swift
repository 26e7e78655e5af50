import Testing

@testable import Console

/// The upload form's multipart reading, on bodies as browsers write them and as they should not be.
struct SubmittedFormTests {
    static func body(_ parts: [String], boundary: String = "XyZ", closing: Bool = true) -> [UInt8] {
        Array((parts.map { "--\(boundary)\r\n\($0)\r\n" }.joined() + (closing ? "--\(boundary)--\r\n" : "")).utf8)
    }

    @Test func fieldsAndAFileAsAChromiumUploadSendsThem() throws {
        let binary: [UInt8] = [0x25, 0x50, 0x44, 0x46, 0x0d, 0x0a, 0x2d, 0x2d, 0x58, 0x00, 0xff]
        var body = Array("preamble is ignored\r\n".utf8)
        body += Array("--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\ntoken-1\r\n".utf8)
        body += Array("--XyZ\r\nContent-Disposition: form-data; name=\"listing\"\r\n\r\nL 1; \"two\"\r\n".utf8)
        body +=
            Array(
                "--XyZ\r\nContent-Disposition: form-data; name=\"document\"; filename=\"house %22manual%22; v2.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
                    .utf8) + binary + Array("\r\n--XyZ--\r\n".utf8)
        let form = try SubmittedForm.multipart(body, boundary: "XyZ")
        #expect(form["csrf"] == ["token-1"])
        #expect(form["listing"] == ["L 1; \"two\""])
        let file = try #require(form.files["document"])
        #expect(file.filename == "house \"manual\"; v2.pdf" && file.contentType == "application/pdf")
        #expect(file.bytes == binary, "the content up to the boundary, a CRLF and dashes inside it kept")
    }

    @Test func anEmptyFileInputSendsNoFile() throws {
        let form = try SubmittedForm.multipart(
            Self.body([
                "Content-Disposition: form-data; name=\"document\"; filename=\"\"\r\nContent-Type: application/octet-stream\r\n\r\n",
                "Content-Disposition: form-data; name=\"id\"\r\n\r\nmanual",
            ]), boundary: "XyZ")
        #expect(form.files.isEmpty && form["id"] == ["manual"])
    }

    @Test func malformedBodiesAreRefusedNotGuessedAt() {
        let cases: [([UInt8], String)] = [
            (Array("no boundary at all".utf8), "has no parts"),
            (Self.body(["Content-Disposition: form-data; name=\"a\"\r\n\r\nvalue"], closing: false), "ends before its last boundary"),
            (Array("--XyZ\r\nContent-Disposition: form-data; name=\"a\"".utf8), "no end to its headers"),
            (Self.body(["Content-Disposition: form-data\r\n\r\nvalue"]), "has no name"),
            (Array("--XyZgarbage".utf8), "malformed"),
            (Self.body(Array(repeating: "Content-Disposition: form-data; name=\"a\"\r\n\r\nv", count: 65)), "more than 64 parts"),
        ]
        for (body, said) in cases {
            #expect {
                _ = try SubmittedForm.multipart(body, boundary: "XyZ")
            } throws: { error in
                (error as? ConsoleBadRequest)?.message.contains(said) == true
            }
        }
    }

    @Test func theBoundaryIsReadFromTheContentType() {
        #expect(SubmittedForm.boundary("multipart/form-data; boundary=----WebKitFormBoundaryA1") == "----WebKitFormBoundaryA1")
        #expect(SubmittedForm.boundary("multipart/form-data; charset=utf-8; BOUNDARY=\"a b\"") == "a b")
        #expect(SubmittedForm.boundary("multipart/form-data") == nil)
        #expect(SubmittedForm.boundary("multipart/form-data; boundary=" + String(repeating: "x", count: 71)) == nil)
    }
}
