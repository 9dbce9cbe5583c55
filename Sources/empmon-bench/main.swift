import Bench
import CommandEdge

Edge.bootstrapLogging()
await BenchMain.run()
