"""The Dockerfile frontend: text → AST → typed stages → expanded instructions.

    parse(text)                  parser.Result (AST with lines, directives, warnings)
    parse_instructions(result)   ([Stage], [global ArgCommand])
    expand_stage(stage, ...)     variables expanded as Docker does, with build-arg use
    stage_deps / target_stages   which stages a build needs, in order

Pure library: no IO, no engine. Errors are ``DockerfileError`` (an
``InvalidParameter``) carrying file, line and instruction.
"""

from dockwright.build.dockerfile.errors import DockerfileError, ExpansionError
from dockwright.build.dockerfile.expand import (
    ExpandedCommand,
    ExpandedStage,
    expand_stage,
    resolve_meta_args,
    unused_build_args,
    unused_build_args_warning,
)
from dockwright.build.dockerfile.instructions import Stage, parse_dockerfile, parse_instructions
from dockwright.build.dockerfile.parser import Node, Result, parse
from dockwright.build.dockerfile.shell_lex import ShellLex
from dockwright.build.dockerfile.stages import stage_deps, target_stages

__all__ = [
    "DockerfileError", "ExpandedCommand", "ExpandedStage", "ExpansionError", "Node", "Result", "ShellLex", "Stage",
    "expand_stage", "parse", "parse_dockerfile", "parse_instructions", "resolve_meta_args", "stage_deps",
    "target_stages", "unused_build_args", "unused_build_args_warning",
]
