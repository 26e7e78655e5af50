import Foundation
import TestSupport
import Testing

@testable import Jobs

/// Documents as a property manager writes them, read and cut into pieces: headings kept, restricted
/// sections marked, what is not text refused with the reason.
@Suite struct KnowledgeDocumentTests {
    static let manual = """
        # Sea View Loft

        Check-in is from 15:00, check-out by 11:00.

        ## Arrival

        The building is on Quai des Belges 12. Take the lift to the 4th floor.

        ### Door code [restricted]

        The door code is 4711. The key box is left of the door.

        ### Parking

        Street parking is free after 19:00.

        ## Wi-Fi [Restricted]

        Network SeaView, password sunset-42.

        ## House rules

        No parties. Quiet hours from 22:00.
        """

    @Test func piecesFollowHeadingsAndCarryRestrictedSectionsDown() {
        let pieces = DocumentChunks.pieces(Self.manual)
        #expect(
            pieces.map(\.title) == [
                "Sea View Loft", "Sea View Loft › Arrival", "Sea View Loft › Arrival › Door code", "Sea View Loft › Arrival › Parking",
                "Sea View Loft › Wi-Fi", "Sea View Loft › House rules",
            ])
        #expect(pieces.map(\.restricted) == [false, false, true, false, true, false])
        #expect(pieces[2].text == "The door code is 4711. The key box is left of the door.")
        #expect(!pieces.contains { $0.title.lowercased().contains("restricted") }, "the marker is not part of a title")
        #expect(pieces[2].embedded.hasPrefix("Sea View Loft › Arrival › Door code\n\n"))
    }

    @Test func paragraphsArePackedAndALongOneIsCutBetweenWords() {
        let paragraphs = (1...6).map { index in String(repeating: "word\(index) ", count: 40).trimmingCharacters(in: .whitespaces) }
        let pieces = DocumentChunks.pieces(paragraphs.joined(separator: "\n\n"), size: 600)
        #expect(pieces.count == 3, "two paragraphs of about 240 characters per piece of 600")
        #expect(pieces.allSatisfy { $0.text.count <= 600 })
        let long = String(repeating: "lorem ", count: 1_000)
        let cut = DocumentChunks.pieces(long, size: 500)
        #expect(cut.count > 10)
        #expect(cut.allSatisfy { $0.text.count <= 500 && !$0.text.hasPrefix(" ") })
    }

    @Test func aDocumentWithoutHeadingsIsOneUntitledSection() {
        let pieces = DocumentChunks.pieces("Breakfast is served from 7 to 10.\n\nTowels are in the wardrobe.")
        #expect(
            pieces == [
                DocumentPiece(title: "", text: "Breakfast is served from 7 to 10.\n\nTowels are in the wardrobe.", restricted: false)
            ])
        #expect(DocumentChunks.pieces("   \n\n  ").isEmpty)
    }

    @Test func htmlLosesItsScriptsStylesAndMarkupButKeepsItsHeadings() async throws {
        let html = """
            <html><head><style>body { color: red }</style><script>var secret = "tracking";</script></head>
            <body><h1>Sea View Loft</h1><p>Check-in from <b>15:00</b> &amp; check-out by 11:00.</p>
            <!-- the owner's note: do not publish -->
            <h2>Wi-Fi</h2><ul><li>Network: SeaView</li></ul><SCRIPT type="text/javascript">alert(1)</SCRIPT></body></html>
            """
        let text = try await DocumentText.extract(Array(html.utf8), format: .html, name: "manual.html")
        #expect(text.contains("# Sea View Loft"))
        #expect(text.contains("Check-in from 15:00 & check-out by 11:00."))
        #expect(text.contains("## Wi-Fi"))
        for hidden in ["color: red", "tracking", "alert", "owner's note", "<"] { #expect(!text.contains(hidden), "\(hidden)") }
        let pieces = DocumentChunks.pieces(text)
        #expect(pieces.map(\.title) == ["Sea View Loft", "Sea View Loft › Wi-Fi"])
    }

    @Test func whatIsNotTextIsRefusedSayingWhy() async throws {
        func refusal(_ bytes: [UInt8], _ format: DocumentText.Format, _ name: String) async -> String? {
            do {
                _ = try await DocumentText.extract(bytes, format: format, name: name)
                return nil
            } catch let error as DocumentError {
                return error.description
            } catch {
                return "\(error)"
            }
        }
        #expect(await refusal([0x48, 0x69, 0xff, 0xfe], .markdown, "latin.md")?.contains("not UTF-8") == true)
        #expect(await refusal(Array("%PDF-1.4 ...".utf8), .markdown, "manual.md")?.contains("is a PDF") == true)
        #expect(await refusal(Array("# just text".utf8), .pdf, "manual.pdf")?.contains("not a PDF") == true)
        #expect(await refusal(Array("<script>only()</script>".utf8), .html, "app.html")?.contains("no text") == true)
        #expect(await refusal(Array("%PDF-1.4\ngarbage that is no PDF".utf8), .pdf, "broken.pdf")?.contains("broken.pdf") == true)
        #expect(DocumentText.format(name: "https://example.com/manual", contentType: "text/html; charset=utf-8") == .html)
        #expect(DocumentText.format(name: "house.PDF") == .pdf)
        #expect(DocumentText.format(name: "photo.jpg") == nil)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/pdftotext")))
    func aPDFIsReadByPdftotext() async throws {
        let text = try await DocumentText.extract(
            Self.pdf(["Check-in from 15:00", "Quiet hours from 22:00"]), format: .pdf, name: "manual.pdf")
        #expect(text.contains("Check-in from 15:00"))
        #expect(text.contains("Quiet hours from 22:00"))
        // A PDF whose page holds no text (a scan): said, nothing indexed.
        await #expect(throws: DocumentError.self) {
            _ = try await DocumentText.extract(Self.pdf([]), format: .pdf, name: "scan.pdf")
        }
    }

    /// A one-page PDF with `lines` of Helvetica text, its cross-reference table exact.
    static func pdf(_ lines: [String]) -> [UInt8] {
        let content = lines.enumerated().map { index, line in "BT /F1 14 Tf 72 \(720 - 20 * index) Td (\(line)) Tj ET" }
            .joined(separator: "\n")
        let objects = [
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
            "<< /Length \(content.utf8.count) >>\nstream\n\(content)\nendstream",
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ]
        var out = "%PDF-1.4\n"
        var offsets: [Int] = []
        for (index, object) in objects.enumerated() {
            offsets.append(out.utf8.count)
            out += "\(index + 1) 0 obj\n\(object)\nendobj\n"
        }
        let xref = out.utf8.count
        out += "xref\n0 \(objects.count + 1)\n0000000000 65535 f \n"
        for offset in offsets { out += String(format: "%010d 00000 n \n", offset) }
        out += "trailer\n<< /Size \(objects.count + 1) /Root 1 0 R >>\nstartxref\n\(xref)\n%%EOF\n"
        return Array(out.utf8)
    }
}
