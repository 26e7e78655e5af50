import Foundation

/// Settings of glibc's allocator that Swift cannot reach directly (`<malloc.h>` is not in its
/// Glibc module), looked up by name.
enum Allocator {
    private typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
    private static let mallopt: Mallopt? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt").map {
        unsafeBitCast($0, to: Mallopt.self)
    }
    /// `M_MMAP_THRESHOLD` in `<malloc.h>`.
    private static let mmapThreshold: Int32 = -3

    /// Blocks of `bytes` and more are mapped on their own and given back to the system when freed.
    /// Setting it also stops glibc from raising the threshold to the largest block freed, after
    /// which freed large blocks stay in the heap. False where the allocator has no such setting.
    @discardableResult
    static func mapBlocks(from bytes: Int32) -> Bool {
        mallopt.map { $0(mmapThreshold, bytes) == 1 } ?? false
    }
}
