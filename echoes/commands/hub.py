"""``echoes publish-weights --repo-id ID``: upload the weights with a model card to the Hub."""

from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser("publish-weights", help="upload weights/ and a model card to the Hugging Face Hub")
    p.add_argument("--repo-id", required=True, help="owner/name of the model repository")
    p.add_argument("--weights", default=None, help="folder to upload (default: the bundled weights/)")
    p.add_argument("--private", action="store_true")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from echoes.core.hub import publish_weights

    commit = publish_weights(args.repo_id, folder=args.weights, private=args.private)
    print(f"published {args.repo_id}; pin it with --weights hf://{args.repo_id}@{commit}")
    return 0
