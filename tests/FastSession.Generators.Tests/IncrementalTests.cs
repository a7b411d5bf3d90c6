using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Runtime.CompilerServices;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;
using StepNames = FastSession.Generators.ShimGenerator.StepNames;

namespace FastSession.Generators.Tests
{
    /// <summary>
    /// The pipeline is incremental: edits that do not touch a declaration do no work past the
    /// transforms, an edit to one declaration re-emits only its file, and no step output keeps
    /// symbols, syntax or compilations alive.
    /// </summary>
    public sealed class IncrementalTests
    {
        // Roslyn records a step only when it leads to an output entry, so a clean input tracks the
        // emission steps and an input with errors also tracks the diagnostic ones.
        private static readonly string[] s_emissionSteps =
        {
            StepNames.ImportMethods, StepNames.ImportSpecs, StepNames.AllImportSpecs, StepNames.LibraryClasses,
            StepNames.BorrowedViews, StepNames.BorrowedViewSpecs, StepNames.OwnedHandles, StepNames.OwnedHandleSpecs,
            StepNames.NeedsOwnedHandleSlot,
        };

        // Errors that reach every diagnostic step (each source reports its own): a view that is not
        // partial, an owned handle without a free function, an import with a type that cannot cross,
        // a broken owner (HandleOwners) and an entry point imported with two signatures (EntryPoints,
        // DuplicateEntryPoints).
        private const string InputWithErrors = """
            using FastSession.Interop;

            namespace FastSession.Broken
            {
                [ShimHandleOwner]
                internal sealed class NoHandle
                {
                }

                [BorrowedView(typeof(SslConnection), "fastsession_shim")]
                internal readonly ref struct NotPartialView
                {
                }

                [OwnedHandle("fastsession_shim", "")]
                internal readonly partial struct NoFree
                {
                }

                [ShimLibrary("fastsession_shim")]
                internal static partial class Conflicting
                {
                    [ShimImport("FastSessionNative_SslVersion")]
                    internal static partial int Version(SslConnection ssl);

                    [ShimImport("FastSessionNative_SslVersion")]
                    internal static partial long VersionAsLong(SslConnection ssl);

                    [ShimImport("FastSessionNative_SslNotBlittable")]
                    internal static partial int NotBlittable(object value);
                }
            }
            """;

        [Fact]
        public void UnrelatedEdit_LeavesEveryTrackedStepCachedOrUnchanged()
        {
            CSharpCompilation compilation = GeneratorHarness.CreateCompilation(GeneratorHarness.SampleSources());
            GeneratorDriver driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);

            GeneratorRunResult run = driver.RunGenerators(UnrelatedEdit(compilation)).GetRunResult().Results.Single();

            Assert.Equal(s_emissionSteps.OrderBy(static n => n), run.TrackedSteps.Keys.Intersect(StepNames.All).OrderBy(static n => n));
            AssertAllCachedOrUnchanged(run, s_emissionSteps);
            Assert.Empty(ReEmittedFiles(run));
        }

        [Fact]
        public void UnrelatedEdit_WithDiagnostics_LeavesEveryTrackedStepCachedOrUnchanged()
        {
            CSharpCompilation compilation = GeneratorHarness.CreateCompilation(
                GeneratorHarness.SampleSources().Append(("Broken.cs", InputWithErrors)));
            GeneratorDriver driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);
            Assert.Equal(new[] { "FSG0002", "FSG0004", "FSG0005", "FSG0007", "FSG0009" }, driver.GetRunResult().Diagnostics.Select(static d => d.Id).OrderBy(static id => id));

            GeneratorRunResult run = driver.RunGenerators(UnrelatedEdit(compilation)).GetRunResult().Results.Single();

            Assert.Equal(StepNames.All.OrderBy(static n => n), run.TrackedSteps.Keys.Intersect(StepNames.All).OrderBy(static n => n));
            AssertAllCachedOrUnchanged(run, StepNames.All);
            Assert.All(
                run.TrackedOutputSteps.SelectMany(static kv => kv.Value).SelectMany(static step => step.Outputs),
                static output => Assert.True(output.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, output.Reason.ToString()));
        }

        /// <summary>A comment at the end of a file with declarations, and a new file with an unrelated class.</summary>
        private static CSharpCompilation UnrelatedEdit(CSharpCompilation compilation)
            => AppendText(compilation, "Sessions.cs", "\n// An unrelated comment.\n")
                .AddSyntaxTrees(CSharpSyntaxTree.ParseText(
                    "namespace FastSession.Other { internal sealed class Unrelated { } }", GeneratorHarness.ParseOptions, "Unrelated.cs"));

        [Fact]
        public void EditThatShiftsDeclarations_ReEmitsNothing()
        {
            // Locations live only in diagnostics and FSG0007's entry-point keys, never in what the
            // emitter sees: moving every declaration down a line re-runs the transforms and the
            // duplicate check, and every output stays cached.
            CSharpCompilation compilation = GeneratorHarness.CreateCompilation(GeneratorHarness.SampleSources());
            GeneratorDriver driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);

            CSharpCompilation edited = compilation.SyntaxTrees.Aggregate(compilation, static (c, tree) => PrependText(c, tree.FilePath, "// Moved down.\n"));
            GeneratorRunResult run = driver.RunGenerators(edited).GetRunResult().Results.Single();

            AssertAllCachedOrUnchanged(run, s_emissionSteps.Where(static n => n != StepNames.ImportMethods).ToArray());
            Assert.Empty(ReEmittedFiles(run));
        }

        [Fact]
        public void ChangeToOneDeclaration_ReEmitsOnlyItsFile()
        {
            CSharpCompilation compilation = GeneratorHarness.CreateCompilation(GeneratorHarness.SampleSources());
            GeneratorDriver driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);

            // Rename a parameter of one CertificateNative import (same file as SessionNative).
            CSharpCompilation edited = ReplaceText(
                compilation, "SessionNative.cs", "I2dX509(PeerCertificate certificate, byte* buffer, int capacity", "I2dX509(PeerCertificate certificate, byte* buffer, int length");
            GeneratorRunResult run = driver.RunGenerators(edited).GetRunResult().Results.Single();

            Assert.Equal(new[] { "FastSession.Interop.CertificateNative.g.cs" }, ReEmittedFiles(run));
            AssertAllCachedOrUnchanged(run, StepNames.BorrowedViews, StepNames.BorrowedViewSpecs, StepNames.OwnedHandles, StepNames.OwnedHandleSpecs);

            var classes = run.TrackedSteps[StepNames.LibraryClasses].SelectMany(static s => s.Outputs).ToArray();
            Assert.Equal(2, classes.Length);
            Assert.All(classes, static output =>
            {
                var spec = (Model.LibraryClassSpec)output.Value;
                bool changed = output.Reason is IncrementalStepRunReason.Modified or IncrementalStepRunReason.New;
                Assert.Equal(spec.Type.ShortName == "CertificateNative", changed);
            });
        }

        [Fact]
        public void ChangeToOneOwnedHandle_ReEmitsOnlyItsFile()
        {
            CSharpCompilation compilation = GeneratorHarness.CreateCompilation(GeneratorHarness.SampleSources());
            GeneratorDriver driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);

            CSharpCompilation edited = ReplaceText(
                compilation, "PeerCertificates.cs", "\"FastSessionNative_X509Free\", UpRefEntryPoint = \"FastSessionNative_X509UpRef\")]", "\"FastSessionNative_X509Free\")]");
            GeneratorRunResult run = driver.RunGenerators(edited).GetRunResult().Results.Single();

            Assert.Equal(new[] { "FastSession.PeerCertificate.g.cs" }, ReEmittedFiles(run));
        }

        [Fact]
        public void NoStepOutput_HoldsSymbolsSyntaxCompilationsOrLocations()
        {
            CSharpCompilation compilation = GeneratorHarness.CreateCompilation(
                GeneratorHarness.SampleSources().Append(("Broken.cs", InputWithErrors)));
            GeneratorDriver driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);
            // Second run too, so cached outputs are inspected as well.
            driver = driver.RunGenerators(AppendText(compilation, "Owners.cs", "\n"));

            foreach (GeneratorRunResult run in driver.GetRunResult().Results)
            {
                Assert.Equal(StepNames.All.OrderBy(static n => n), run.TrackedSteps.Keys.Intersect(StepNames.All).OrderBy(static n => n));
                foreach (string name in StepNames.All)
                {
                    foreach (IncrementalGeneratorRunStep step in run.TrackedSteps[name])
                    {
                        foreach ((object value, _) in step.Outputs)
                        {
                            AssertHoldsNoRoslynObjects(value, name, new HashSet<object>(ReferenceEqualityComparer.Instance));
                        }
                    }
                }
            }
        }

        [Fact]
        public void Driver_DoesNotKeepAnOldCompilationAlive()
        {
            (GeneratorDriver driver, WeakReference old) = RunOnFreshCompilation();
            driver = driver.RunGenerators(GeneratorHarness.CreateCompilation(GeneratorHarness.SampleSources()));

            for (int i = 0; i < 3 && old.IsAlive; i++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }

            Assert.False(old.IsAlive, "the driver keeps the previous compilation alive");
            GC.KeepAlive(driver);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static (GeneratorDriver Driver, WeakReference Old) RunOnFreshCompilation()
        {
            CSharpCompilation compilation = GeneratorHarness.CreateCompilation(GeneratorHarness.SampleSources());
            GeneratorDriver driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);
            return (driver, new WeakReference(compilation));
        }

        private static void AssertAllCachedOrUnchanged(GeneratorRunResult run, params string[] stepNames)
        {
            foreach (string name in stepNames)
            {
                Assert.True(run.TrackedSteps.TryGetValue(name, out var steps), $"step {name} did not run");
                foreach (IncrementalGeneratorRunStep step in steps!)
                {
                    foreach ((object _, IncrementalStepRunReason reason) in step.Outputs)
                    {
                        Assert.True(reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"{name}: {reason}");
                    }
                }
            }
        }

        /// <summary>Hint names of the source outputs that were produced anew in this run.</summary>
        private static string[] ReEmittedFiles(GeneratorRunResult run)
            => run.TrackedOutputSteps
                .SelectMany(static kv => kv.Value)
                .SelectMany(static step => step.Outputs)
                .Where(static output => output.Reason is IncrementalStepRunReason.New or IncrementalStepRunReason.Modified)
                .SelectMany(static output => HintNames(output.Value))
                .OrderBy(static name => name, StringComparer.Ordinal)
                .ToArray();

        // A source output's value is (IEnumerable<GeneratedSourceText>, IEnumerable<Diagnostic>);
        // GeneratedSourceText is internal to Roslyn, so its HintName is read by reflection.
        private static IEnumerable<string> HintNames(object outputValue)
        {
            object sources = outputValue.GetType().GetField("Item1")!.GetValue(outputValue)!;
            foreach (object source in (IEnumerable)sources)
            {
                yield return (string)source.GetType().GetProperty("HintName", BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)!.GetValue(source)!;
            }
        }

        private static void AssertHoldsNoRoslynObjects(object? value, string path, HashSet<object> visited)
        {
            if (value is null)
            {
                return;
            }

            Type type = value.GetType();
            Assert.False(
                value is Compilation or ISymbol or SyntaxNode or SyntaxTree or SemanticModel or Location or AttributeData,
                $"{path} holds a {type.FullName}");
            if (type.IsPrimitive || type.IsEnum || value is string || (!type.IsValueType && !visited.Add(value)))
            {
                return;
            }

            if (value is IEnumerable sequence)
            {
                int i = 0;
                foreach (object? item in sequence)
                {
                    AssertHoldsNoRoslynObjects(item, $"{path}[{i++}]", visited);
                }
            }

            for (Type? t = type; t is not null && t != typeof(object); t = t.BaseType)
            {
                foreach (FieldInfo field in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                {
                    if (field.FieldType.IsPointer || field.FieldType.IsByRefLike)
                    {
                        continue;
                    }

                    AssertHoldsNoRoslynObjects(field.GetValue(value), $"{path}.{field.Name}", visited);
                }
            }
        }

        private static CSharpCompilation ReplaceText(CSharpCompilation compilation, string path, string oldText, string newText)
        {
            SyntaxTree tree = compilation.SyntaxTrees.Single(t => t.FilePath == path);
            string text = tree.GetText().ToString();
            Assert.Contains(oldText, text);
            return compilation.ReplaceSyntaxTree(tree, tree.WithChangedText(SourceText.From(text.Replace(oldText, newText))));
        }

        private static CSharpCompilation AppendText(CSharpCompilation compilation, string path, string addition)
        {
            SyntaxTree tree = compilation.SyntaxTrees.Single(t => t.FilePath == path);
            SourceText text = tree.GetText();
            return compilation.ReplaceSyntaxTree(tree, tree.WithChangedText(text.WithChanges(new TextChange(new TextSpan(text.Length, 0), addition))));
        }

        private static CSharpCompilation PrependText(CSharpCompilation compilation, string path, string addition)
        {
            SyntaxTree tree = compilation.SyntaxTrees.Single(t => t.FilePath == path);
            SourceText text = tree.GetText();
            return compilation.ReplaceSyntaxTree(tree, tree.WithChangedText(text.WithChanges(new TextChange(new TextSpan(0, 0), addition))));
        }
    }
}
