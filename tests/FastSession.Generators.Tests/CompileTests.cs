using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Emit;

namespace FastSession.Generators.Tests
{
    /// <summary>The generated code compiles, with the input, without a single warning.</summary>
    public sealed class CompileTests
    {
        [Fact]
        public void SampleInputPlusGeneratedCode_CompilesWithoutWarnings()
        {
            GeneratorResult result = GeneratorHarness.Run(GeneratorHarness.CreateCompilation(GeneratorHarness.SampleSources()));
            AssertCompilesClean(result);
        }

        [Fact]
        public void TypesInTheGlobalNamespaceAndNestedInPartialTypes_CompileWithoutWarnings()
        {
            const string Source = """
                using System;
                using FastSession.Interop;

                [ShimHandleOwner]
                internal sealed class Owner
                {
                    internal nint NativeHandle => 1;
                    internal ulong Epoch => 0;
                    internal int EnterReader() => 1;
                    internal void ExitReader(int lease) { }
                }

                internal static partial class Outer
                {
                    internal partial struct Inner
                    {
                        [BorrowedView(typeof(Owner), "lib", UpRefEntryPoint = "lib_up_ref", OwnedType = typeof(Owned))]
                        internal readonly ref partial struct View
                        {
                        }

                        [OwnedHandle("lib", "lib_free")]
                        internal readonly partial struct Owned
                        {
                        }

                        [ShimLibrary("lib")]
                        internal static unsafe partial class Native
                        {
                            [ShimImport("lib_get0", Trivial = true)]
                            internal static partial View Get0(Owner owner);

                            [ShimImport("lib_get1")]
                            internal static partial Owned Get1(Owner owner, double @double, void* context);

                            [ShimImport("lib_use")]
                            private static partial void Use(Owned first, View second, Owned third, nuint length);
                        }
                    }
                }
                """;
            GeneratorResult result = GeneratorHarness.Run(GeneratorHarness.CreateCompilation(Source));
            Assert.Empty(result.RunResult.Diagnostics);
            Assert.Contains(result.RunResult.GeneratedSources, static s => s.HintName == "Outer.Inner.Native.g.cs");
            AssertCompilesClean(result);
        }

        [Fact]
        public void ACompilationWithoutOwnedHandles_GetsNoUnsafeSlotTemplate_AndCompilesWithoutUnsafe()
        {
            // A NuGet consumer of FastSession runs the generator too; it must compile without /unsafe.
            const string Source = """
                internal static class Program
                {
                    internal static int Main() => 0;
                }
                """;
            CSharpCompilation compilation = GeneratorHarness.CreateCompilation(Source)
                .WithOptions(GeneratorHarness.CreateCompilation(Source).Options.WithAllowUnsafe(false));

            GeneratorResult result = GeneratorHarness.Run(compilation);

            Assert.DoesNotContain(result.RunResult.GeneratedSources, static s => s.HintName == ShimGenerator.FixedSources.OwnedHandleSlot);
            AssertCompilesClean(result);
        }

        private static void AssertCompilesClean(GeneratorResult result)
        {
            Assert.Null(result.RunResult.Exception);
            Assert.Empty(result.DriverDiagnostics);
            Diagnostic[] problems = result.Output.GetDiagnostics()
                .Where(static d => d.Severity >= DiagnosticSeverity.Warning)
                .ToArray();
            Assert.True(problems.Length == 0, string.Join("\n", problems.Select(static d => d.ToString())));

            using var stream = new MemoryStream();
            EmitResult emit = result.Output.Emit(stream);
            Assert.True(emit.Success, string.Join("\n", emit.Diagnostics.Select(static d => d.ToString())));
        }
    }
}
