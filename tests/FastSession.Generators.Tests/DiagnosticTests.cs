using System;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace FastSession.Generators.Tests
{
    /// <summary>One test per diagnostic: id, severity and where it points (line and column, 1-based).</summary>
    public sealed class DiagnosticTests
    {
        // Owner, view and owned handle every snippet may use; kept on the first lines so the
        // snippet's own positions are easy to read from the assertions.
        private const string Prelude = """
            using System;
            using FastSession.Interop;
            [ShimHandleOwner] public sealed class Conn { internal nint NativeHandle => 1; internal ulong Epoch => 0; internal int EnterReader() => 1; internal void ExitReader(int lease) { } }
            [BorrowedView(typeof(Conn), "lib")] public readonly ref partial struct View { }
            [OwnedHandle("lib", "lib_free")] public readonly partial struct Owned { }

            """;

        [Fact]
        public void ImportMethodThatIsNotStaticPartial_ReportsFSG0001AtItsName()
        {
            string source = Prelude + """
                [ShimLibrary("lib")]
                internal static partial class Native
                {
                    [ShimImport("lib_count")]
                    internal static int Count() => 0;
                }
                """;
            AssertSingle(source, "FSG0001", "Count()");
        }

        [Fact]
        public void ImportMethodInNonPartialClass_ReportsFSG0002AtTheClassName()
        {
            string source = Prelude + """
                [ShimLibrary("lib")]
                internal static class Native
                {
                    [ShimImport("lib_count")]
                    internal static partial int Count();
                }
                """;
            AssertSingle(source, "FSG0002", "Native");
        }

        [Fact]
        public void OwnedHandleNestedInNonPartialType_ReportsFSG0002AtTheContainingType()
        {
            string source = Prelude + """
                public static class Holder
                {
                    [OwnedHandle("lib", "lib_free")] public readonly partial struct Inner { }
                }
                """;
            AssertSingle(source, "FSG0002", "Holder");
        }

        [Fact]
        public void RefStructReturnNotMarkedBorrowedView_ReportsFSG0003AtTheReturnType()
        {
            string source = Prelude + """
                [ShimLibrary("lib")]
                internal static partial class Native
                {
                    [ShimImport("lib_get0")]
                    internal static partial Plain Get0(Conn conn);
                }

                public ref struct Plain { }
                """;
            AssertSingle(source, "FSG0003", "Plain Get0");
        }

        [Fact]
        public void BorrowedViewThatIsNotARefStruct_ReportsFSG0003AtItsName()
        {
            string source = Prelude + """
                [BorrowedView(typeof(Conn), "lib")] public readonly partial struct HeapView { }
                """;
            AssertSingle(source, "FSG0003", "HeapView");
        }

        [Fact]
        public void OwnedHandleWithEmptyFreeEntryPoint_ReportsFSG0004AtTheAttribute()
        {
            string source = Prelude + """
                [OwnedHandle("lib", "")] public readonly partial struct Leaky { }
                """;
            AssertSingle(source, "FSG0004", "OwnedHandle(\"lib\", \"\")");
        }

        [Fact]
        public void ObjectParameter_ReportsFSG0005AtTheParameter()
        {
            string source = Prelude + """
                [ShimLibrary("lib")]
                internal static partial class Native
                {
                    [ShimImport("lib_name")]
                    internal static partial int Name(object name);
                }
                """;
            AssertSingle(source, "FSG0005", "object name");
        }

        [Fact]
        public void BoolReturn_ReportsFSG0005AtTheReturnType()
        {
            string source = Prelude + """
                [ShimLibrary("lib")]
                internal static partial class Native
                {
                    [ShimImport("lib_is")]
                    internal static partial bool Is(Owned owned);
                }
                """;
            AssertSingle(source, "FSG0005", "bool Is");
        }

        [Fact]
        public void TrivialGet1_ReportsFSG0006AtTheAttribute()
        {
            string source = Prelude + """
                [ShimLibrary("lib")]
                internal static partial class Native
                {
                    [ShimImport("FastSessionNative_SslGet1Session", Trivial = true)]
                    internal static partial Owned Get1Session(Conn conn);
                }
                """;
            AssertSingle(source, "FSG0006", "ShimImport(\"FastSessionNative_SslGet1Session\"");
        }

        [Fact]
        public void TrivialGetterWhoseObjectIsALockingWord_IsAllowed()
        {
            // SSL_get_shutdown reads a flag: "Shutdown" after "Get" names what is read.
            string source = Prelude + """
                [ShimLibrary("lib")]
                internal static partial class Native
                {
                    [ShimImport("FastSessionNative_SslGetShutdown", Trivial = true)]
                    internal static partial int GetShutdown(Conn conn);

                    [ShimImport("FastSessionNative_SslSessionReused", Trivial = true)]
                    internal static partial int SessionReused(Conn conn);
                }
                """;
            Assert.Empty(GeneratorHarness.GeneratorDiagnostics(source));
        }

        [Fact]
        public void EntryPointImportedWithTwoNativeSignatures_ReportsFSG0007AtTheSecond()
        {
            string source = Prelude + """
                [ShimLibrary("lib")]
                internal static partial class Native
                {
                    [ShimImport("lib_value")]
                    internal static partial int Value(Conn conn);

                    [ShimImport("lib_value")]
                    internal static partial long ValueAsLong(Conn conn);
                }
                """;
            AssertSingle(source, "FSG0007", "ValueAsLong");
        }

        [Fact]
        public void EntryPointImportedForViewAndOwnedHandle_IsAllowed()
        {
            string source = Prelude + """
                [ShimLibrary("lib")]
                internal static partial class Native
                {
                    [ShimImport("lib_size", Trivial = true)]
                    internal static partial int Size(View view);

                    [ShimImport("lib_size", Trivial = true)]
                    internal static partial int Size(Owned owned);
                }
                """;
            Assert.Empty(GeneratorHarness.GeneratorDiagnostics(source));
        }

        [Fact]
        public void ViewReturnWithoutOwnerFirst_ReportsFSG0008AtTheReturnType()
        {
            string source = Prelude + """
                [ShimLibrary("lib")]
                internal static partial class Native
                {
                    [ShimImport("lib_get0")]
                    internal static partial View Get0(nint raw, Conn conn);
                }
                """;
            AssertSingle(source, "FSG0008", "View Get0");
        }

        [Fact]
        public void HandleOwnerWithoutNativeHandle_ReportsFSG0009AtItsName()
        {
            string source = Prelude + """
                [ShimHandleOwner] public sealed class Broken { internal nint Handle => 1; }
                """;
            AssertSingle(source, "FSG0009", "Broken");
        }

        [Fact]
        public void ViewOwnerWithoutEpoch_ReportsFSG0009AtTheViewAttribute()
        {
            string source = Prelude + """
                [ShimHandleOwner] public sealed class NoEpoch { internal nint NativeHandle => 1; internal int EnterReader() => 1; internal void ExitReader(int lease) { } }
                [BorrowedView(typeof(NoEpoch), "lib")] public readonly ref partial struct NoEpochView { }
                """;
            AssertSingle(source, "FSG0009", "BorrowedView(typeof(NoEpoch)");
        }

        [Fact]
        public void ViewOwnerWithoutReaderLease_ReportsFSG0009AtTheViewAttribute()
        {
            string source = Prelude + """
                [ShimHandleOwner] public sealed class NoLease { internal nint NativeHandle => 1; internal ulong Epoch => 0; }
                [BorrowedView(typeof(NoLease), "lib")] public readonly ref partial struct NoLeaseView { }
                """;
            AssertSingle(source, "FSG0009", "BorrowedView(typeof(NoLease)");
        }

        [Fact]
        public void ImportOutsideShimLibrary_ReportsFSG0010AtTheMethodName()
        {
            string source = Prelude + """
                internal static partial class Native
                {
                    [ShimImport("lib_count")]
                    internal static partial int Count();
                }
                """;
            AssertSingle(source, "FSG0010", "Count()");
        }

        [Fact]
        public void EmptyEntryPoint_ReportsFSG0011AtTheAttribute()
        {
            string source = Prelude + """
                [ShimLibrary("lib")]
                internal static partial class Native
                {
                    [ShimImport("")]
                    internal static partial int Count();
                }
                """;
            AssertSingle(source, "FSG0011", "ShimImport(\"\")");
        }

        [Fact]
        public void UpRefWithoutOwnedType_ReportsFSG0012AtTheViewAttribute()
        {
            string source = Prelude + """
                [BorrowedView(typeof(Conn), "lib", UpRefEntryPoint = "lib_up_ref")] public readonly ref partial struct HalfView { }
                """;
            AssertSingle(source, "FSG0012", "BorrowedView(typeof(Conn), \"lib\", UpRef");
        }

        [Fact]
        public void OwnedTypeNotMarkedOwnedHandle_ReportsFSG0012AtTheViewAttribute()
        {
            string source = Prelude + """
                public struct Plain { }
                [BorrowedView(typeof(Conn), "lib", UpRefEntryPoint = "lib_up_ref", OwnedType = typeof(Plain))] public readonly ref partial struct PlainView { }
                """;
            AssertSingle(source, "FSG0012", "BorrowedView(typeof(Conn), \"lib\", UpRef");
        }

        [Fact]
        public void Descriptors_AreErrorsOrOneWarningInTheFastSessionInteropCategory()
        {
            var descriptors = typeof(DiagnosticDescriptors)
                .GetFields()
                .Where(static f => f.FieldType == typeof(DiagnosticDescriptor))
                .Select(static f => (DiagnosticDescriptor)f.GetValue(null)!)
                .ToArray();
            Assert.Equal(17, descriptors.Length);
            Assert.All(descriptors, static d =>
            {
                // FSG0016 flags a span without a length, which a fixed-size contract can make correct.
                Assert.Equal(d.Id == "FSG0016" ? DiagnosticSeverity.Warning : DiagnosticSeverity.Error, d.DefaultSeverity);
                Assert.Equal("FastSession.Interop", d.Category);
                Assert.Matches("^FSG00[0-9][0-9]$", d.Id);
            });
            Assert.Equal(descriptors.Length, descriptors.Select(static d => d.Id).Distinct().Count());
        }

        [Fact]
        public void SpanReturn_ReportsFSG0013AtTheReturnType()
        {
            string source = Prelude + """
                [ShimLibrary("lib")]
                internal static partial class Native
                {
                    [ShimImport("lib_bytes")]
                    internal static partial ReadOnlySpan<byte> Bytes(Conn conn);
                }
                """;
            AssertSingle(source, "FSG0013", "ReadOnlySpan<byte> Bytes");
        }

        [Fact]
        public void StringReturn_ReportsFSG0013AtTheReturnType()
        {
            string source = Prelude + """
                [ShimLibrary("lib")]
                internal static partial class Native
                {
                    [ShimImport("lib_name")]
                    internal static partial string Name(Conn conn);
                }
                """;
            AssertSingle(source, "FSG0013", "string Name");
        }

        [Fact]
        public void SpanOfManagedType_ReportsFSG0014AtTheParameter()
        {
            string source = Prelude + """
                [ShimLibrary("lib")]
                internal static partial class Native
                {
                    [ShimImport("lib_names")]
                    internal static partial int Names(Span<string> names, int count);
                }
                """;
            AssertSingle(source, "FSG0014", "Span<string> names");
        }

        [Fact]
        public void OwnedHandleByOut_ReportsFSG0015AtTheParameter()
        {
            string source = Prelude + """
                [ShimLibrary("lib")]
                internal static partial class Native
                {
                    [ShimImport("lib_get")]
                    internal static partial int Get(Conn conn, out Owned owned);
                }
                """;
            AssertSingle(source, "FSG0015", "out Owned owned");
        }

        [Fact]
        public void OwnerByRef_ReportsFSG0015AtTheParameter()
        {
            string source = Prelude + """
                [ShimLibrary("lib")]
                internal static partial class Native
                {
                    [ShimImport("lib_swap")]
                    internal static partial int Swap(ref Conn conn);
                }
                """;
            AssertSingle(source, "FSG0015", "ref Conn conn");
        }

        [Fact]
        public void SpanWithoutLength_WarnsFSG0016AtTheSpan()
        {
            string source = Prelude + """
                [ShimLibrary("lib")]
                internal static partial class Native
                {
                    [ShimImport("lib_fill")]
                    internal static partial void Fill(Conn conn, Span<byte> buffer);
                }
                """;
            AssertSingle(source, "FSG0016", "Span<byte> buffer", DiagnosticSeverity.Warning);
        }

        [Fact]
        public void SpanWithoutLength_IsStillEmitted_SoASuppressedWarningLeavesAWorkingWrapper()
        {
            string source = Prelude + """
                [ShimLibrary("lib")]
                internal static partial class Native
                {
                    [ShimImport("lib_fill")]
                    internal static partial void Fill(Conn conn, Span<byte> buffer);
                }
                """;
            GeneratorResult result = GeneratorHarness.Run(GeneratorHarness.CreateCompilation(source));
            Assert.Equal("FSG0016", Assert.Single(result.RunResult.Diagnostics).Id);
            string generated = result.Source("Native.g.cs");
            Assert.Contains("internal static partial void Fill(global::Conn conn, global::System.Span<byte> buffer)", generated, StringComparison.Ordinal);
            Assert.Contains("fixed (byte* __buffer_pin = buffer)", generated, StringComparison.Ordinal);
            // No CS8795 (partial method without a body): the wrapper exists.
            Assert.DoesNotContain(result.Output.GetDiagnostics(), static d => d.Id == "CS8795");
        }

        [Fact]
        public void OpenSslMacroAsEntryPoint_ReportsFSG0017AtTheAttribute()
        {
            string source = Prelude + """
                [ShimLibrary("libssl.so.3")]
                internal static partial class Native
                {
                    [ShimImport("SSL_get0_session", Trivial = true)]
                    internal static partial nint Get0Session(Conn conn);
                }
                """;
            AssertSingle(source, "FSG0017", "ShimImport(\"SSL_get0_session\"");
            Assert.Contains("SSL_get_session", GeneratorHarness.GeneratorDiagnostics(source).Single().GetMessage(), StringComparison.Ordinal);
        }

        [Fact]
        public void RealLibSslFunctionAsEntryPoint_IsClean()
        {
            string source = Prelude + """
                [ShimLibrary("libssl.so.3")]
                internal static partial class Native
                {
                    [ShimImport("SSL_SESSION_is_resumable", Trivial = true)]
                    internal static partial int IsResumable(View session);

                    [ShimImport("SSL_SESSION_is_resumable", Trivial = true)]
                    internal static partial int IsResumable(Owned session);
                }
                """;
            Assert.Empty(GeneratorHarness.GeneratorDiagnostics(source));
        }

        [Fact]
        public void SpanFollowedByLength_IsClean()
        {
            string source = Prelude + """
                [ShimLibrary("lib")]
                internal static partial class Native
                {
                    [ShimImport("lib_fill")]
                    internal static partial void Fill(Conn conn, Span<byte> buffer, int capacity, out int written);

                    [ShimImport("lib_open")]
                    internal static partial int Open(Conn conn, string? name, out ulong id);

                    [ShimImport("lib_count")]
                    internal static partial int Count(Conn conn, ref int count);
                }
                """;
            Assert.Empty(GeneratorHarness.GeneratorDiagnostics(source));
        }

        [Fact]
        public void InParameter_ReportsFSG0005AtTheParameter()
        {
            string source = Prelude + """
                [ShimLibrary("lib")]
                internal static partial class Native
                {
                    [ShimImport("lib_in")]
                    internal static partial int Read(in long value);
                }
                """;
            AssertSingle(source, "FSG0005", "in long value");
        }

        /// <summary>Exactly one generator diagnostic: <paramref name="id"/> with <paramref name="severity"/>, starting
        /// where <paramref name="anchor"/> first occurs after the prelude.</summary>
        private static void AssertSingle(string source, string id, string anchor, DiagnosticSeverity severity = DiagnosticSeverity.Error)
        {
            ImmutableArray<Diagnostic> diagnostics = GeneratorHarness.GeneratorDiagnostics(source);
            Diagnostic diagnostic = Assert.Single(diagnostics);
            Assert.Equal(id, diagnostic.Id);
            Assert.Equal(severity, diagnostic.Severity);

            int offset = source.IndexOf(anchor, Prelude.Length, StringComparison.Ordinal);
            Assert.True(offset >= 0, $"anchor '{anchor}' not found");
            string before = source.Substring(0, offset);
            int line = before.Count(static c => c == '\n') + 1;
            int column = offset - (before.LastIndexOf('\n') + 1) + 1;

            FileLinePositionSpan span = diagnostic.Location.GetLineSpan();
            Assert.Equal("Input0.cs", span.Path);
            Assert.Equal((line, column), (span.StartLinePosition.Line + 1, span.StartLinePosition.Character + 1));
        }
    }
}
