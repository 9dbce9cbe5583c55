import Domain
import Synchronization

/// Where the count of statements that wrote the ledger tables stands, as a transaction sees it (migration 11):
/// `drawn` is the sequence's last value, `own` how many of those draws the transaction made itself.
struct LedgerWrites: Sendable, Equatable {
    let drawn: Int64
    let own: Int64

    /// The count without this transaction's own writes: unchanged exactly as long as nobody else wrote.
    var others: Int64 { drawn - own }
}

/// The person records of recent months this member read from or wrote to the ledger, and the (person, month) pairs
/// it found absent, so that the next batch reads from PostgreSQL only the pairs it has not seen.
///
/// Why a stale entry cannot count: an entry is used only when the count of ledger writes (`LedgerWrites`), read
/// after the batch holds its persons' locks, stands where it stood when this member's last batch committed. Any
/// other writer (another member, a mover's record in another partition, an operator's SQL, `TRUNCATE`) draws from
/// that count inside its own transaction, before it commits and before it releases the locks on the persons it
/// wrote, so its change is either seen here (the count moved: everything is read afresh) or still waits on a lock
/// this batch holds. An entry enters only for a person the batch held locked, from what PostgreSQL returned or
/// what the batch itself wrote, and only once the batch has committed. A batch that fails, a new connection (the
/// database may be another), and any rebalance drop everything.
struct RecentPersons {
    /// A stored record, or `nil`: known absent from the ledger.
    private var months: [Period: [PersonKey: PersonStatusRecord?]] = [:]
    private(set) var count = 0
    /// The `LedgerWrites.others` every entry is current at, and the connection it was read on; nil when empty.
    private var fence: (connection: Int, writes: Int64)?
    /// Most (person, month) pairs kept; the oldest months go first.
    let capacity: Int

    init(capacity: Int) { self.capacity = max(0, capacity) }

    /// Whether the entries may stand in for the ledger in a batch that read `writes` on connection `connection`.
    func isCurrent(connection: Int, writes: LedgerWrites) -> Bool {
        guard let fence, count > 0 else { return false }
        return fence.connection == connection && fence.writes == writes.others
    }

    /// The pairs of `keys` this member knows (records, and pairs known absent), and those it must read.
    func split(_ keys: Set<PersonMonthKey>) -> (
        known: [PersonMonthKey: PersonStatusRecord], absent: Int, unknown: [PersonMonthKey]
    ) {
        var known: [PersonMonthKey: PersonStatusRecord] = [:]
        var absent = 0
        var unknown: [PersonMonthKey] = []
        unknown.reserveCapacity(count == 0 ? keys.count : keys.count / 2)
        for key in keys {
            guard let entry = months[key.period]?[key.person] else {
                unknown.append(key)
                continue
            }
            if let record = entry { known[key] = record } else { absent += 1 }
        }
        return (known, absent, unknown)
    }

    /// After a batch committed: what it read and wrote becomes known. `current` says whether the entries from
    /// before were current when it started and nobody else wrote while it ran; if not, they are dropped, while the
    /// batch's own (its persons were locked) stand. `writes` is the count at the batch's end.
    /// `batch.read` are the pairs it read from PostgreSQL, `batch.found` what it found of them.
    mutating func settle(
        _ batch: (read: [PersonMonthKey], found: [PersonMonthKey: PersonStatusRecord], written: [PersonStatusRecord]),
        current: Bool, connection: Int, writes: LedgerWrites
    ) {
        if !current { removeAll() }
        guard capacity > 0 else { return }
        for key in batch.read { insert(batch.found[key], at: key) }
        for record in batch.written {
            insert(record, at: PersonMonthKey(person: record.person, period: record.period))
        }
        // The batch's own draws are in `drawn`: with them, the next batch sees this count unless someone else wrote.
        fence = (connection, writes.drawn)
        evictOldestMonths()
    }

    mutating func removeAll() {
        months = [:]
        count = 0
        fence = nil
    }

    private mutating func insert(_ record: PersonStatusRecord?, at key: PersonMonthKey) {
        if months[key.period, default: [:]].updateValue(record, forKey: key.person) == nil { count += 1 }
    }

    private mutating func evictOldestMonths() {
        var evicted: [[PersonKey: PersonStatusRecord?]] = []
        while count > capacity, let oldest = months.keys.min(), let month = months.removeValue(forKey: oldest) {
            count -= month.count
            evicted.append(month)
        }
        if months.isEmpty { fence = nil }
        // Releasing a month of a quarter of a million records took up to 660 ms in the city bench, and the next
        // batch waits for the settle before it reads its persons: another thread lets them go.
        if !evicted.isEmpty { Task.detached(priority: .utility) { withExtendedLifetime(evicted) {} } }
    }
}

/// A member's `RecentPersons` between its batches. After a commit, what the batch learned goes in on another thread
/// while the next batch begins (its checks, plan, offsets and locks); that batch waits for it only when it reads its
/// persons. At city scale the settle took ~120 ms a batch (up to 950 ms when a month of entries was let go), all of it
/// between two commits.
final class RememberedPersons: Sendable {
    private let memory: Mutex<RecentPersons>
    /// The settle still running, if any.
    private let settling = Mutex<Task<Void, Never>?>(nil)

    init(capacity: Int) { memory = Mutex(RecentPersons(capacity: capacity)) }

    /// Once the last settle is done: whether the entries may stand in for the ledger, and the split of `keys`.
    func split(_ keys: Set<PersonMonthKey>, connection: Int, writes: LedgerWrites) async -> (
        current: Bool, known: [PersonMonthKey: PersonStatusRecord], absent: Int, unknown: [PersonMonthKey]
    ) {
        await settled()
        return memory.withLock { recent in
            guard recent.isCurrent(connection: connection, writes: writes) else {
                return (false, [:], 0, Array(keys))
            }
            let split = recent.split(keys)
            return (true, split.known, split.absent, split.unknown)
        }
    }

    /// Forgets everything, once the last settle is done (a failed batch, a rebalance).
    func forget() async {
        await settled()
        memory.withLock { $0.removeAll() }
    }

    /// Starts putting in what a committed batch learned (`RecentPersons.settle`); the next `split` or `forget` waits
    /// for it.
    func settle(
        _ batch: (read: [PersonMonthKey], found: [PersonMonthKey: PersonStatusRecord], written: [PersonStatusRecord]),
        current: Bool, connection: Int, writes: LedgerWrites
    ) async {
        await settled()
        let task = Task {
            self.memory.withLock { $0.settle(batch, current: current, connection: connection, writes: writes) }
        }
        settling.withLock { $0 = task }
    }

    /// Waits for the settle in progress, if any.
    func settled() async {
        guard let task = settling.withLock({ $0 }) else { return }
        await task.value
    }

    /// Pairs held now (for tests), once the last settle is done.
    func count() async -> Int {
        await settled()
        return memory.withLock { $0.count }
    }
}
