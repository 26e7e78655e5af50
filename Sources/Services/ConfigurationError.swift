/// A setting that is missing, malformed or at odds with another, found at start-up: its text names
/// the setting and the rule, never a secret's value. The one configuration error of every role;
/// each command turns it into exit 2 with that text.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
