print("articlesync-load: not yet")
