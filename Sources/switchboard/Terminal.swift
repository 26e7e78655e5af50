import Foundation

/// What the CLI knows about where its output goes: a terminal (colour, width) or a pipe.
enum Terminal {
    static var stdoutIsTTY: Bool { isatty(STDOUT_FILENO) == 1 }
    static var stdinIsTTY: Bool { isatty(STDIN_FILENO) == 1 }

    /// Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org).
    static var colour: Bool { stdoutIsTTY && ProcessInfo.processInfo.environment["NO_COLOR"] == nil }

    /// The terminal's width, or COLUMNS, or nil for a pipe (lines are then not cut).
    static var width: Int? {
        if let columns = ProcessInfo.processInfo.environment["COLUMNS"].flatMap(Int.init), columns > 0 { return columns }
        guard stdoutIsTTY else { return nil }
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
        return Int(size.ws_col)
    }

    enum Style: String {
        case bold = "1"
        case red = "31"
        case yellow = "33"
        case green = "32"
        case dim = "2"
    }

    /// Text that came from outside (a dead letter's error, a job id, a payload, a flow id) as the
    /// terminal may show it: every control character — escape sequences could retitle, clear or
    /// rewrite the operator's terminal — written out as `\u{1B}`; line breaks and tabs kept only
    /// when `lines` is true (a table cell is one line).
    static func visible(_ text: String, lines: Bool = false) -> String {
        var shown = ""
        for scalar in text.unicodeScalars {
            let kept = lines && (scalar == "\n" || scalar == "\t")
            if !kept, scalar.properties.generalCategory == .control {
                shown += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            } else {
                shown.unicodeScalars.append(scalar)
            }
        }
        return shown
    }

    static func paint(_ text: String, _ style: Style) -> String {
        colour ? "\u{1B}[\(style.rawValue)m\(text)\u{1B}[0m" : text
    }

    /// Cuts a line to `width` characters, marking the cut.
    static func cut(_ line: String, to width: Int?) -> String {
        guard let width, line.count > width, width > 1 else { return line }
        return String(line.prefix(width - 1)) + "…"
    }

    static func age(milliseconds: Int) -> String {
        let seconds = max(milliseconds, 0) / 1000
        switch seconds {
        case ..<1: return "\(max(milliseconds, 0))ms"
        case ..<120: return "\(seconds)s"
        case ..<7200: return "\(seconds / 60)m"
        case ..<172_800: return "\(seconds / 3600)h"
        default: return "\(seconds / 86400)d"
        }
    }

    /// Unix milliseconds as ISO 8601, or `-` for a number no calendar holds (a letter's fields
    /// are whatever was written into Redis).
    static func timestamp(milliseconds: Double) -> String {
        guard milliseconds.isFinite, (0...253_402_300_799_999).contains(milliseconds) else { return "-" }
        return Date(timeIntervalSince1970: milliseconds / 1000).formatted(.iso8601)
    }

    /// `value` as one line of JSON on standard output (keys sorted, slashes as they are): what the
    /// `--json` of a listing prints per item.
    static func printJSONLine<Value: Encodable>(_ value: Value) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    /// An error on standard error, its outside text (names, keys, a letter's error) made visible.
    static func error(_ message: String) {
        FileHandle.standardError.write(Data("error: \(visible(message, lines: true))\n".utf8))
    }
}

/// Left-aligned columns separated by two spaces; styling is applied after padding so colour codes
/// never break the alignment.
enum Table {
    static func render(_ rows: [[String]], style: (Int, Int, String) -> Terminal.Style? = { _, _, _ in nil }) -> String {
        let columns = rows.map(\.count).max() ?? 0
        var widths = [Int](repeating: 0, count: columns)
        let rows = rows.map { $0.map { Terminal.visible($0) } }
        for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
        return rows.enumerated().map { rowIndex, row in
            row.enumerated().map { index, cell in
                let padded = index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
                if rowIndex == 0 { return Terminal.paint(padded, .bold) }
                return style(rowIndex, index, cell).map { Terminal.paint(padded, $0) } ?? padded
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }
}
