"""Typed errors. The CLI turns every FootprintError into one line on stderr and exit code 1."""


class FootprintError(Exception):
    """A user-facing error: bad input, missing object, unusable database."""


class NotFoundError(FootprintError):
    """A named object (use case, model, file) does not exist."""


class DuplicateError(FootprintError):
    """An object with the same key already exists."""


class ValidationError(FootprintError):
    """A value is out of its domain (period, country, slug, number...)."""


class DatabaseError(FootprintError):
    """The database cannot be opened or used (unreadable, corrupt)."""


class DatabaseLockedError(DatabaseError):
    """Another process holds the database for too long."""


class SchemaTooNewError(DatabaseError):
    """The database was written by a newer footprint."""


class InputFileError(ValidationError):
    """A file given as input is unreadable or holds a bad row (message names file, line, field)."""


class ListenError(FootprintError):
    """A server option (`--listen HOST:PORT`) cannot be served: address unknown, port in use."""


class ConvergenceError(FootprintError):
    """A fit did not converge (estimators.physics.levenberg_marquardt): its result would depend on the arithmetic's last bits."""
