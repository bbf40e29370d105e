from scimbridge.cli import main

raise SystemExit(main())
