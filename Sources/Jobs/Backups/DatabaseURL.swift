import Foundation
import Services

/// A PostgreSQL connection URL (`postgres://user:password@host:port/database?sslmode=require`)
/// split so the password never reaches an argument list, a log line or an error: `pg_dump` is given
/// the URL without it (`--dbname`) and the password in `PGPASSWORD`, as libpq reads it.
public struct DatabaseURL: Sendable, Equatable {
    /// The URL with the password removed; safe to show.
    public let withoutPassword: String
    /// Percent-decoded, as the server expects it.
    public let password: String?
    /// The database's name (for the dump's object name), or the user's when the URL names none.
    public let database: String

    public init(_ text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let schemeEnd = trimmed.range(of: "://"), ["postgres", "postgresql"].contains(trimmed[..<schemeEnd.lowerBound].lowercased())
        else {
            throw ConfigurationError("DATABASE_URL is not a postgres:// or postgresql:// URL")
        }
        let rest = trimmed[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        let afterAuthority = rest[authorityEnd...]
        // An '@' past the authority's end: the user information held an unencoded '/' or '?', which
        // ends the authority for libpq as for us; pg_dump would be handed the password as a host or
        // a path. Refused, naming the rule, never the password.
        // An '@' in a query parameter's value (`?application_name=a@b`) of a URL whose authority is a
        // plain host and port is no such thing, and is taken.
        if !authority.contains("@"), let at = afterAuthority.firstIndex(of: "@") {
            let before = afterAuthority[..<at]
            let inQueryValue = before.contains("?") && (before.split(separator: "&").last ?? "").contains("=")
            let host =
                authority.hasPrefix("[")
                ? authority[(authority.firstIndex(of: "]").map { authority.index(after: $0) } ?? authority.endIndex)...] : authority
            let plainHost = host.split(separator: ":", omittingEmptySubsequences: false).dropFirst().allSatisfy {
                $0.allSatisfy(\.isNumber)
            }
            if !inQueryValue || !plainHost {
                throw ConfigurationError(
                    "DATABASE_URL's user or password holds an unencoded '/' or '?': percent-encode them (%2F, %3F), as every URL's user information must be"
                )
            }
        }
        var user: Substring = ""
        var hostPart = authority
        var password: String?
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            hostPart = authority[authority.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                user = userInfo[..<colon]
                password = String(userInfo[userInfo.index(after: colon)...]).removingPercentEncoding
                guard password != nil else { throw ConfigurationError("DATABASE_URL's password is not valid percent-encoding") }
            } else {
                user = userInfo
            }
        }
        withoutPassword = trimmed[..<schemeEnd.upperBound] + (user.isEmpty ? "" : user + "@") + hostPart + afterAuthority
        self.password = password
        let path = afterAuthority.hasPrefix("/") ? afterAuthority.dropFirst().prefix { $0 != "?" } : ""
        let name = String(path).removingPercentEncoding ?? String(path)
        database = name.isEmpty ? (String(user).removingPercentEncoding ?? "postgres") : name
    }

    /// The database's name as it may appear in an object key: letters, digits, `-`, `_` and `.`.
    public var keySafeName: String {
        let safe = String(database.map { $0.isLetter && $0.isASCII || $0.isNumber && $0.isASCII || "-_.".contains($0) ? $0 : "_" })
        return safe.isEmpty || safe.allSatisfy({ $0 == "." }) ? "database" : safe
    }

    /// `text` with the password masked, for any message that could carry it.
    public func redacting(_ text: String) -> String {
        guard let password, password.count >= 3 else { return text }
        return text.replacingOccurrences(of: password, with: "***")
    }
}
