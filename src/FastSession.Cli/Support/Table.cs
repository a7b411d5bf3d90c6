using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace FastSession.Cli;

/// <summary>A plain text table: columns padded to their widest cell, numbers right-aligned.</summary>
internal sealed class Table
{
    private readonly string[] _headers;
    private readonly bool[] _rightAligned;
    private readonly List<string[]> _rows = new();

    public Table(params string[] headers)
    {
        _headers = headers;
        _rightAligned = new bool[headers.Length];
    }

    public Table AlignRight(params int[] columns)
    {
        foreach (int c in columns)
        {
            _rightAligned[c] = true;
        }
        return this;
    }

    public void Add(params string[] cells)
    {
        if (cells.Length != _headers.Length)
        {
            throw new ArgumentException($"Expected {_headers.Length} cells, got {cells.Length}.", nameof(cells));
        }
        _rows.Add(cells);
    }

    public void WriteTo(TextWriter output, string indent = "  ")
    {
        int[] widths = new int[_headers.Length];
        for (int c = 0; c < _headers.Length; c++)
        {
            widths[c] = _headers[c].Length;
            foreach (string[] row in _rows)
            {
                widths[c] = Math.Max(widths[c], row[c].Length);
            }
        }
        WriteRow(output, indent, _headers, widths);
        var rule = new StringBuilder(indent);
        for (int c = 0; c < widths.Length; c++)
        {
            rule.Append(c == 0 ? "" : "  ").Append('-', widths[c]);
        }
        output.WriteLine(rule.ToString());
        foreach (string[] row in _rows)
        {
            WriteRow(output, indent, row, widths);
        }
    }

    private void WriteRow(TextWriter output, string indent, string[] cells, int[] widths)
    {
        var line = new StringBuilder(indent);
        for (int c = 0; c < cells.Length; c++)
        {
            if (c > 0)
            {
                line.Append("  ");
            }
            line.Append(_rightAligned[c] ? cells[c].PadLeft(widths[c]) : cells[c].PadRight(widths[c]));
        }
        output.WriteLine(line.ToString().TrimEnd());
    }
}
