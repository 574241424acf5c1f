from focusgql.cli import main

raise SystemExit(main())
