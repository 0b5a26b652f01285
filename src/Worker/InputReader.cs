using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace Worker;

/// <summary>
/// Reads the append input (arguments, a file, or stdin) as UTF-8 lines, each checked (size,
/// UTF-8) and handed on as bytes of the read buffer: no string per item, and never more than
/// one read buffer in memory.
/// </summary>
public sealed class InputReader : IDisposable
{
    private const int ReadBufferBytes = 1 << 20;

    private readonly Stream? _stream;
    private readonly IReadOnlyList<string>? _arguments;
    private readonly int _maxItemBytes;
    private readonly string _source;
    private byte[] _buffer;
    private int _start;
    private int _end;
    private bool _eof;
    private int _nextArgument;

    private InputReader(Stream? stream, IReadOnlyList<string>? arguments, int maxItemBytes, string source)
    {
        _stream = stream;
        _arguments = arguments;
        _maxItemBytes = maxItemBytes;
        _source = source;
        _buffer = stream is null ? [] : new byte[Math.Max(ReadBufferBytes, maxItemBytes + 2)];
    }

    /// <summary>Items read so far (the line number of the last one, for files).</summary>
    public long ItemsRead { get; private set; }

    public static InputReader FromArguments(IReadOnlyList<string> items, int maxItemBytes) =>
        new(null, items, maxItemBytes, "argument");

    /// <exception cref="InputException">the file cannot be opened.</exception>
    public static InputReader FromFile(string path, int maxItemBytes)
    {
        if (path.Length == 0)
        {
            throw new InputException("--file is empty: give the path of a file, or - for stdin");
        }

        try
        {
            var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            return new InputReader(stream, null, maxItemBytes, "line");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException(e is FileNotFoundException or DirectoryNotFoundException
                ? $"input file '{path}' does not exist"
                : $"cannot read input file '{path}': {e.Message}");
        }
    }

    public static InputReader FromStream(Stream stream, int maxItemBytes) => new(stream, null, maxItemBytes, "line");

    /// <summary>
    /// Reads the whole input through once, checking every item, and starts again from the
    /// top (arguments, a regular file). A pipe, a terminal or stdin cannot be read twice:
    /// there nothing is read.
    /// </summary>
    /// <exception cref="InputException">an item is too large or not UTF-8.</exception>
    public void CheckAllAndRewind()
    {
        if (_stream is { CanSeek: false } || ItemsRead > 0)
        {
            return;
        }

        Skip(ulong.MaxValue);
        _stream?.Seek(0, SeekOrigin.Begin);
        _start = _end = 0;
        _eof = false;
        _nextArgument = 0;
        ItemsRead = 0;
    }

    /// <summary>Reads and drops <paramref name="count"/> items; returns how many there were.</summary>
    public ulong Skip(ulong count)
    {
        ulong skipped = 0;
        while (skipped < count && TryReadItem(out _))
        {
            skipped++;
        }

        return skipped;
    }

    /// <summary>
    /// The next item's UTF-8 bytes (valid for the caller until the next read), or false at the
    /// end of the input.
    /// </summary>
    /// <exception cref="InputException">the item is too large or not UTF-8.</exception>
    public bool TryRead(out ReadOnlyMemory<byte> item) => TryReadItem(out item);

    public void Dispose() => _stream?.Dispose();

    private bool TryReadItem(out ReadOnlyMemory<byte> item)
    {
        if (_arguments is not null)
        {
            if (_nextArgument == _arguments.Count)
            {
                item = default;
                return false;
            }

            item = Encoding.UTF8.GetBytes(_arguments[_nextArgument++]);
        }
        else if (!TryReadLine(out item))
        {
            return false;
        }
        else if (ItemsRead == 0 && item.Span.StartsWith("\uFEFF"u8))
        {
            item = item[3..]; // a byte-order mark (a file saved as "UTF-8 with BOM"): not part of the first item
        }

        ItemsRead++;
        Check(item.Span);
        return true;
    }

    private void Check(ReadOnlySpan<byte> item)
    {
        if (item.Length > _maxItemBytes)
        {
            throw new InputException(
                $"{_source} {ItemsRead} is {item.Length} bytes; the limit is {_maxItemBytes} bytes (actors.worker.max-item-bytes)",
                ItemsRead);
        }

        if (InvalidUtf8At(item) is { } at)
        {
            throw new InputException($"{_source} {ItemsRead} is not valid UTF-8 (at byte {at})", ItemsRead);
        }
    }

    /// <summary>The 1-based position of the first byte of <paramref name="item"/> that is not UTF-8; null when all are.</summary>
    internal static int? InvalidUtf8At(ReadOnlySpan<byte> item)
    {
        if (Utf8.IsValid(item))
        {
            return null;
        }

        var chars = ArrayPool<char>.Shared.Rent(item.Length);
        Utf8.ToUtf16(item, chars, out var valid, out _, replaceInvalidSequences: false);
        ArrayPool<char>.Shared.Return(chars);
        return valid + 1;
    }

    private bool TryReadLine(out ReadOnlyMemory<byte> line)
    {
        var scanned = 0;
        while (true)
        {
            var newline = _buffer.AsSpan(_start + scanned, _end - _start - scanned).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                var length = scanned + newline;
                line = TrimCarriageReturn(_buffer.AsMemory(_start, length));
                _start += length + 1;
                return true;
            }

            // Room for a \r, and for a byte-order mark before the first item.
            scanned = _end - _start;
            if (scanned > _maxItemBytes + (ItemsRead == 0 ? 4 : 1))
            {
                throw new InputException(
                    $"{_source} {ItemsRead + 1} is longer than the limit of {_maxItemBytes} bytes (actors.worker.max-item-bytes)",
                    ItemsRead + 1);
            }

            if (_eof)
            {
                if (scanned == 0)
                {
                    line = default;
                    return false;
                }

                line = TrimCarriageReturn(_buffer.AsMemory(_start, scanned));
                _start = _end;
                return true;
            }

            Fill();
        }
    }

    private void Fill()
    {
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            Array.Resize(ref _buffer, _buffer.Length * 2);
        }

        var read = _stream!.Read(_buffer, _end, _buffer.Length - _end);
        if (read == 0)
        {
            _eof = true;
        }

        _end += read;
    }

    private static ReadOnlyMemory<byte> TrimCarriageReturn(ReadOnlyMemory<byte> line) =>
        line.Length > 0 && line.Span[^1] == (byte)'\r' ? line[..^1] : line;
}

/// <summary>Bad input: the message names the line (or argument) and the limit.</summary>
public sealed class InputException(string message, long itemNumber = 0) : Exception(message)
{
    public long ItemNumber { get; } = itemNumber;
}
