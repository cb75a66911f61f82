"""Exit codes, the error type and the translation of library messages into command-line options."""

from __future__ import annotations

import re
import signal

EXIT_ERROR = 2
EXIT_SIGINT = 128 + signal.SIGINT  # 130
EXIT_SIGTERM = 128 + signal.SIGTERM  # 143

#: Estimator parameters named in the library's messages -> the option that sets them here.
OPTION_OF = {
    "fill_method": "--fill-method",
    "freq": "--freq",
    "lookback": "--lookback",
    "horizon": "--horizon",
    "quantiles": "--quantiles",
    "max_epochs": "--max-epochs",
    "random_state": "--seed",
    "num_threads": "--threads",
    "n_windows": "--windows",
    "season_length": "--season",
    "id_col": "--id-col",
    "time_col": "--time-col",
    "target_col": "--target",
}
_NAMES = "|".join(OPTION_OF)


class CLIError(Exception):
    """A problem the user can fix from the command line: printed as ``error: <message>``, exit status 2."""


class Stopped(BaseException):
    """Raised by the SIGTERM/SIGINT handler; a BaseException, so that no ``except Exception`` swallows it
    (and not a KeyboardInterrupt, which Lightning turns into ``sys.exit(1)``)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def cli_message(text: object) -> str:
    """A library message on one line, with its parameter advice written as command-line options.

    Examples
    --------
    >>> cli_message("found NaN.\\nPass fill_method='ffill', or clean the data before calling.")
    'found NaN. Pass --fill-method ffill, or clean the data.'
    >>> cli_message("The 'lookback' parameter of xLSTMForecaster must be an int. Got 0 instead.")
    '--lookback must be an int. Got 0 instead.'
    >>> cli_message("if that is the frequency, pass freq='7D'. With freq= given, the gaps are named.")
    'if that is the frequency, pass --freq 7D. With --freq given, the gaps are named.'
    >>> cli_message("lookback (36) + horizon (12) needs 48 steps")
    '--lookback 36 + --horizon 12 needs 48 steps'
    >>> cli_message("Drop or aggregate the duplicates, e.g. s[~s.index.duplicated()] or s.groupby(level=0).mean().")
    'Drop or aggregate the duplicates.'
    """
    text = " ".join(str(text).split())
    # sklearn's template: "The 'lookback' parameter of xLSTMForecaster must be ..." -> "--lookback must be ..."
    text = re.sub(rf"\b[Tt]he '({_NAMES})' parameter of \w+", lambda m: OPTION_OF[m[1]], text)
    # "fill_method='ffill'" -> "--fill-method ffill"; a bare "freq=" -> "--freq"
    text = re.sub(
        rf"\b({_NAMES})=(?:'([^']*)'|\"([^\"]*)\"|(\w(?:[\w.+-]*\w)?))?",
        lambda m: " ".join(filter(None, (OPTION_OF[m[1]], m[2] or m[3] or m[4]))),
        text,
    )
    # "lookback (36) + horizon (12)" -> "--lookback 36 + --horizon 12"; "a smaller lookback" -> "... --lookback"
    text = re.sub(r"\b(lookback|horizon) \((\d+)\)", lambda m: f"{OPTION_OF[m[1]]} {m[2]}", text)
    text = re.sub(r"(?<!-)\blookback\b(?! \()", "--lookback", text)
    # Gaps: here --fill-method adds the missing rows itself (see _add_missing_steps).
    text = re.sub(
        r"Add the missing timestamps as rows(?:, e\.g\. [^,]*)?, then fill the new NaN values with",
        "Pass --fill-method to add the missing timestamps and fill them:",
        text,
    )
    text = re.sub(
        r"Add the missing steps as rows \(NaN values can then be filled with --fill-method\)",
        "Pass --fill-method to add the missing steps and fill them",
        text,
    )
    text = text.replace("a DatetimeIndex / datetime time column", "a date column")
    # Python snippets that a command-line user cannot run: ", e.g. s[~s.index.duplicated()] or ..."
    text = re.sub(r",? e\.g\. [^,;]*?[\[(][^,;]*?(?=[.,](?: |$)|$)", "", text)
    return text.replace(" before calling", "")
