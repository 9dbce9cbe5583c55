import ArgumentParser
import CommandEdge

@main
struct Empmon: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "empmon",
        abstract: "Changzhi employment monitoring: four-tier reporting through Kafka into PostgreSQL.",
        subcommands: [
            DevCommand.self, DatabaseCommand.self, TopologyCommand.self, AgentCommand.self, SimulateCommand.self,
            ProcessCommand.self,
            VerifyCommand.self, IndicatorsCommand.self, QueryCommand.self, QualityCommand.self, ForecastCommand.self,
            BacktestCommand.self,
            AlertsCommand.self, ReportCommand.self, ServeCommand.self, TokenCommand.self, DemoCommand.self,
            BenchAlias.self,
        ]
    )

    static func main() async {
        Edge.bootstrapLogging()
        await main(nil)
    }
}
