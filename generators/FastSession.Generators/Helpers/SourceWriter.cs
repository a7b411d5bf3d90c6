using System;
using System.Text;

namespace FastSession.Generators.Helpers
{
    /// <summary>
    /// A small indentation-aware writer (after System.Text.Json's generator): four spaces per
    /// level, "\n" line endings whatever the host OS, so expected files compare byte for byte.
    /// </summary>
    internal sealed class SourceWriter
    {
        private const string IndentUnit = "    ";

        private readonly StringBuilder _builder = new();
        private int _indent;

        public int Indentation
        {
            get => _indent;
            set => _indent = value < 0 ? throw new ArgumentOutOfRangeException(nameof(value)) : value;
        }

        public SourceWriter WriteLine()
        {
            _builder.Append('\n');
            return this;
        }

        /// <summary>Writes one or more lines (split on '\n'), each indented; empty lines stay empty.</summary>
        public SourceWriter WriteLine(string text)
        {
            int start = 0;
            while (true)
            {
                int end = text.IndexOf('\n', start);
                string line = end < 0 ? text.Substring(start) : text.Substring(start, end - start);
                if (line.Length > 0)
                {
                    for (int i = 0; i < _indent; i++)
                    {
                        _builder.Append(IndentUnit);
                    }

                    _builder.Append(line);
                }

                _builder.Append('\n');
                if (end < 0)
                {
                    return this;
                }

                start = end + 1;
            }
        }

        /// <summary>Writes <paramref name="header"/>, then "{" and indents.</summary>
        public SourceWriter OpenBlock(string header)
        {
            WriteLine(header);
            return OpenBlock();
        }

        public SourceWriter OpenBlock()
        {
            WriteLine("{");
            _indent++;
            return this;
        }

        public SourceWriter CloseBlock(string suffix = "")
        {
            _indent--;
            return WriteLine("}" + suffix);
        }

        public override string ToString() => _builder.ToString();
    }
}
