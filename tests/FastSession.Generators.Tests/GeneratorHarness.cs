using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using FastSession.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace FastSession.Generators.Tests
{
    /// <summary>Builds compilations and runs the generator through a driver that tracks steps.</summary>
    internal static class GeneratorHarness
    {
        /// <summary>Where the sample inputs are copied next to the test assembly.</summary>
        public static readonly string InputDirectory = Path.Combine(AppContext.BaseDirectory, "Inputs");

        /// <summary>Where the checked-in expected files live in the source tree (for regeneration).</summary>
        public static readonly string SourceDirectory = GetSourceDirectory();

        public static readonly CSharpParseOptions ParseOptions = new CSharpParseOptions(LanguageVersion.Latest, DocumentationMode.Diagnose);

        private static readonly Lazy<ImmutableArray<MetadataReference>> s_references = new(static () =>
            ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!)
                .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
                .Select(static path => (MetadataReference)MetadataReference.CreateFromFile(path))
                .ToImmutableArray());

        /// <summary>The sample input: every file under Inputs/, by name.</summary>
        public static IReadOnlyList<(string Path, string Text)> SampleSources()
            => Directory.GetFiles(InputDirectory, "*.cs")
                .OrderBy(static path => path, StringComparer.Ordinal)
                .Select(static path => (Path.GetFileName(path), File.ReadAllText(path)))
                .ToList();

        public static CSharpCompilation CreateCompilation(IEnumerable<(string Path, string Text)> sources)
            => CSharpCompilation.Create(
                "FastSession.GeneratorInput",
                sources.Select(static s => CSharpSyntaxTree.ParseText(s.Text, ParseOptions, s.Path)),
                s_references.Value,
                new CSharpCompilationOptions(
                    OutputKind.DynamicallyLinkedLibrary,
                    allowUnsafe: true,
                    nullableContextOptions: NullableContextOptions.Enable,
                    warningLevel: 9999));

        public static CSharpCompilation CreateCompilation(params string[] sources)
            => CreateCompilation(sources.Select(static (text, i) => ($"Input{i}.cs", text)));

        public static GeneratorDriver CreateDriver()
            => CSharpGeneratorDriver.Create(
                new[] { new ShimGenerator().AsSourceGenerator() },
                parseOptions: ParseOptions,
                driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

        /// <summary>Runs the generator once on a fresh driver.</summary>
        public static GeneratorResult Run(Compilation compilation)
        {
            GeneratorDriver driver = CreateDriver().RunGeneratorsAndUpdateCompilation(compilation, out Compilation output, out ImmutableArray<Diagnostic> driverDiagnostics);
            return new GeneratorResult(driver, output, driverDiagnostics);
        }

        /// <summary>The generator's own diagnostics (FSG…) for <paramref name="sources"/>.</summary>
        public static ImmutableArray<Diagnostic> GeneratorDiagnostics(params string[] sources)
        {
            GeneratorResult result = Run(CreateCompilation(sources));
            GeneratorRunResult run = result.Driver.GetRunResult().Results.Single();
            Assert.Null(run.Exception);
            return run.Diagnostics;
        }

        private static string GetSourceDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
    }

    internal sealed record GeneratorResult(GeneratorDriver Driver, Compilation Output, ImmutableArray<Diagnostic> DriverDiagnostics)
    {
        public GeneratorRunResult RunResult => Driver.GetRunResult().Results.Single();

        public string Source(string hintName)
            => RunResult.GeneratedSources.Single(s => s.HintName == hintName).SourceText.ToString();
    }
}
