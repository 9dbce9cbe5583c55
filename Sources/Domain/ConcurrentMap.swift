import Foundation

extension Array where Element: Sendable {
    /// `map` over the cores: one task per core on a contiguous slice (fewer tasks when a slice would hold fewer than
    /// `minimumSlice` elements), the results in the elements' order.
    package func concurrentMap<T: Sendable>(minimumSlice: Int = 1, _ transform: @escaping @Sendable (Element) -> T)
        async -> [T]
    {
        let slices = slices(minimumSlice: minimumSlice)
        guard slices.count > 1 else { return map(transform) }
        return await withTaskGroup(of: (Int, [T]).self) { group in
            for (index, slice) in slices.enumerated() { group.addTask { (index, slice.map(transform)) } }
            var parts: [(Int, [T])] = []
            for await part in group { parts.append(part) }
            return parts.sorted { $0.0 < $1.0 }.flatMap(\.1)
        }
    }

    /// As above, for a transform that can fail: the first error thrown ends the map.
    package func concurrentMap<T: Sendable>(
        minimumSlice: Int = 1, _ transform: @escaping @Sendable (Element) throws -> T
    ) async throws -> [T] {
        let slices = slices(minimumSlice: minimumSlice)
        guard slices.count > 1 else { return try map(transform) }
        return try await withThrowingTaskGroup(of: (Int, [T]).self) { group in
            for (index, slice) in slices.enumerated() { group.addTask { (index, try slice.map(transform)) } }
            var parts: [(Int, [T])] = []
            for try await part in group { parts.append(part) }
            return parts.sorted { $0.0 < $1.0 }.flatMap(\.1)
        }
    }

    private func slices(minimumSlice: Int) -> [ArraySlice<Element>] {
        let tasks = Swift.max(
            1, Swift.min(ProcessInfo.processInfo.activeProcessorCount, count / Swift.max(1, minimumSlice)))
        let size = (count + tasks - 1) / tasks
        return stride(from: 0, to: count, by: Swift.max(1, size)).map { self[$0..<Swift.min(count, $0 + size)] }
    }
}
