using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace FastSession.Generators.Tests
{
    /// <summary>The generated files for the sample input (Inputs/) match the checked-in Expected/ files.</summary>
    public sealed class ExpectedOutputTests
    {
        private static readonly string[] s_hintNames =
        {
            "FastSession.Interop.Attributes.g.cs",
            "FastSession.Interop.OwnedHandleSlot.g.cs",
            "FastSession.Interop.SessionNative.g.cs",
            "FastSession.Interop.CertificateNative.g.cs",
            "FastSession.SslSessionRef.g.cs",
            "FastSession.SslSession.g.cs",
            "FastSession.PeerCertificateRef.g.cs",
            "FastSession.PeerCertificate.g.cs",
        };

        public static TheoryData<string> HintNames => new(s_hintNames);

        private static readonly GeneratorResult s_result =
            GeneratorHarness.Run(GeneratorHarness.CreateCompilation(GeneratorHarness.SampleSources()));

        [Theory]
        [MemberData(nameof(HintNames))]
        public void GeneratedFile_MatchesExpectedFile(string hintName)
            => ExpectedFiles.AssertMatches(hintName, s_result.Source(hintName));

        [Fact]
        public void SampleInput_GeneratesOneFilePerDeclaringTypePlusTheTwoFixedSources()
        {
            IEnumerable<string> generated = s_result.RunResult.GeneratedSources.Select(static s => s.HintName).OrderBy(static n => n);
            Assert.Equal(s_hintNames.OrderBy(static n => n), generated);
        }

        [Fact]
        public void SampleInput_ProducesNoGeneratorDiagnostics()
        {
            Assert.Null(s_result.RunResult.Exception);
            Assert.Empty(s_result.RunResult.Diagnostics);
        }

        [Fact]
        public void ExpectedDirectory_HoldsNoStaleFiles()
        {
            if (ExpectedFiles.Updating)
            {
                return;
            }

            IEnumerable<string> files = Directory.GetFiles(ExpectedFiles.OutputDirectory).Select(Path.GetFileName).OrderBy(static n => n)!;
            Assert.Equal(s_hintNames.OrderBy(static n => n), files);
        }

        [Fact]
        public void FixedSources_AreTheTemplatesVerbatim()
        {
            string root = Path.GetFullPath(Path.Combine(GeneratorHarness.SourceDirectory, "..", "..", "generators", "FastSession.Generators", "Templates"));
            if (!Directory.Exists(root))
            {
                return; // Only checkable from a source checkout.
            }

            Assert.Equal(File.ReadAllText(Path.Combine(root, "ShimAttributes.cs")), s_result.Source("FastSession.Interop.Attributes.g.cs"));
            Assert.Equal(File.ReadAllText(Path.Combine(root, "OwnedHandleSlot.cs")), s_result.Source("FastSession.Interop.OwnedHandleSlot.g.cs"));
        }

        [Fact]
        public void SuppressGCTransition_AppearsOnlyOnTrivialImports()
        {
            string source = s_result.Source("FastSession.Interop.SessionNative.g.cs");
            string[] lines = source.Split('\n');
            var suppressed = new List<string>();
            for (int i = 0; i < lines.Length - 1; i++)
            {
                if (lines[i].Contains("SuppressGCTransition]"))
                {
                    suppressed.Add(lines[i + 1].Trim());
                }
            }

            Assert.Equal(
                new[]
                {
                    "private static extern nint __PInvoke_FastSessionNative_SslGet0Session(nint ssl);",
                    "private static extern int __PInvoke_FastSessionNative_SslSessionIsResumable(nint session);",
                    "private static extern int __PInvoke_FastSessionNative_SslSessionGetInfo(nint session, global::FastSession.Interop.FsSessionInfo* info);",
                    "private static extern int __PInvoke_FastSessionNative_SslSessionGetId(nint session, byte* buffer, int capacity);",
                },
                suppressed);
            Assert.DoesNotContain("SuppressGCTransition", s_result.Source("FastSession.SslSession.g.cs"));
            Assert.DoesNotContain("SuppressGCTransition", s_result.Source("FastSession.SslSessionRef.g.cs"));
        }
    }
}
