// A thin main: the measured loops live in the other files, outside top-level (main actor) code.
BenchmarkReport.run(arguments: Array(CommandLine.arguments.dropFirst()))
